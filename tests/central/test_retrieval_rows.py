"""Retrieval reads only the notes a range needs: every hold, and the purges naming its segments.

A ring buffer that evicts after upload writes a `purge` record per segment; a find over ten
minutes of a year-old stream must not fetch a year of them."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue, Tx
from central.catalogue.schema import records
from central.retrieval.catalogued import note_rows


@pytest.fixture
def catalogue(catalogue_url: URL) -> Any:
    opened = Catalogue.open(catalogue_url)
    yield opened
    opened.close()


def add(tx: Tx, seq: int, kind: str, purge_seq: int | None = None) -> None:
    tx.c.execute(records.insert().values(
        gateway="gw-1", stream="cam1", seq=seq, kind=kind, leaf_hash="00" * 32,
        record_hash="11" * 32, prev="22" * 32, object_key=f"k/{seq:08d}_x.json", version_id="v",
        uploaded_at=0.0, media_state="none", purge_seq=purge_seq,
    ))  # fmt: skip


def test_notes_are_the_holds_and_the_purges_of_the_range(catalogue: Any) -> None:
    with catalogue.transaction() as tx:
        for seq in range(0, 100, 2):
            add(tx, seq, "segment")
            add(tx, seq + 1, "purge", purge_seq=seq)  # evicted after upload, one by one
        add(tx, 100, "hold")
        add(tx, 101, "hold")  # its release
        add(tx, 102, "purge")  # names nothing the catalogue could read: declares nothing
        found = note_rows(tx, "gw-1", "cam1", 40, 50)
    assert [(r.seq, r.kind) for r in found] == [
        *[(seq + 1, "purge") for seq in range(40, 51, 2)],
        (100, "hold"),
        (101, "hold"),
    ]
