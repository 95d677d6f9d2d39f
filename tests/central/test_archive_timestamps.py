"""RFC 3161 tokens beside checkpoints, catalogued and checked by `evgw archive sync` against
[tsa] ca_file, with tokens from the real local TSA (`openssl ts -reply`) in a real bucket."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from evgw.local_time import machine, show
from testbeds.seaweedfs import SeaweedServer
from testbeds.tsa import TsaPki, TsaServer
from tests.central.witness_rig import WitnessRig, make_rig
from tests.support.seaweed import settings_for, unique_bucket
from tests.support.tsa_fixtures import token_for
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(
    tmp_path: Path,
    seaweed: SeaweedServer,
    catalogue_url: URL,
    capsys: pytest.CaptureFixture[str],
    tsa_pki: TsaPki,
) -> Iterator[WitnessRig]:
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    url = catalogue_url.render_as_string(hide_password=False)
    made = make_rig(tmp_path, seaweed, store, url, capsys, tsa_ca=tsa_pki.ca_file)
    yield made
    made.box.close()


def stamp(rig: WitnessRig, server: TsaServer, size: int, at: int | None = None) -> None:
    """Put the TSA's token over checkpoint `size`'s object at checkpoint `at`'s token key."""
    token = token_for(server, rig.get(rig.checkpoint_key(size)))
    rig.put(rig.token_key(size if at is None else at), token)


def refused(summary: dict[str, object]) -> list[int]:
    found = summary["findings"]
    assert isinstance(found, list)
    return sorted(f["seq"] for f in found if f["kind"] == "timestamp_refused")


# -- attacks ------------------------------------------------------------------------------


def test_a_token_moved_to_another_checkpoint_is_refused(
    rig: WitnessRig, tsa_server: TsaServer
) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    stamp(rig, tsa_server, 4, at=8)  # size 4's genuine token, beside size 8
    code, summary = rig.sync()
    assert code == 1 and refused(summary) == [8]
    (row,) = rig.token_rows()
    assert row.status == "REFUSED" and "the token is for other bytes" in row.detail
    assert summary["timestamps"] == [
        {"gateway": "gw-1", "stream": "cam1", "size": 8, "status": "REFUSED", "tsa_time": None}
    ]


def test_tokens_of_another_tsa_or_garbage_are_refused(
    rig: WitnessRig, tsa_server: TsaServer, other_tsa_server: TsaServer
) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    stamp(rig, other_tsa_server, 4)  # right bytes, a TSA the archive does not trust
    rig.put(rig.token_key(8), b"\x30\x03\x02\x01\x00")
    code, summary = rig.sync()
    assert code == 1 and refused(summary) == [4, 8]
    details = {r.size: r.detail for r in rig.token_rows()}
    assert "not verified by the given TSA CA" in details[4]
    assert "not an RFC 3161 reply" in details[8]


# -- the catalogue ---------------------------------------------------------------------------


def test_trusted_tokens_are_catalogued_and_the_newest_time_reported(
    rig: WitnessRig, tsa_server: TsaServer
) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    stamp(rig, tsa_server, 4)
    code, summary = rig.sync()
    assert code == 0 and summary["findings"] == []
    (newest,) = summary["timestamps"]
    assert (newest["size"], newest["status"]) == (8, None)  # size 8 has no token yet
    # The token of size 8 comes later (the TSA was offline): checked by the next run.
    stamp(rig, tsa_server, 8)
    code, text = rig.sync_text()
    assert code == 0, text
    rows = {r.size: r for r in rig.token_rows()}
    assert [rows[s].status for s in (4, 8)] == ["TRUSTED", "TRUSTED"]
    shown = show(rows[8].tsa_time, machine())  # on this machine's clock, with the offset
    assert rows[8].tsa_time and f"gw-1/cam1 size 8: {shown} by the TSA (TRUSTED)" in text
    assert "unknown_object" not in text and "orphan" not in text


def test_a_token_waits_for_its_checkpoint(rig: WitnessRig, tsa_server: TsaServer) -> None:
    rig.box.record(4)
    rig.box.upload(rig.store)
    body = rig.get(rig.checkpoint_key(4))
    rig.put(rig.token_key(8), token_for(tsa_server, body))  # no checkpoint of size 8 yet
    code, summary = rig.sync()
    assert code == 0 and [r.status for r in rig.token_rows()] == ["PENDING"]
    rig.box.record(4)
    rig.box.upload(rig.store)
    code, summary = rig.sync()
    assert code == 1 and refused(summary) == [8]  # it was size 4's token after all
