"""`evgw archive verify-box`: a box held to the checkpoints the archive co-signed, through the
real CLI. The attacks are those of a thief holding the box and so its device key: without the
archive the box still verifies; held to the witness it is NOT_AUTHENTIC with the range."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from gateway.cli.main import main
from segments.ledger import CHECKPOINTS_NAME, LEDGER_NAME, Ledger, read_checkpoints
from segments.records import Record
from testbeds.seaweedfs import SeaweedServer
from tests.central.witness_rig import NAME, WitnessRig, make_rig
from tests.support.seaweed import settings_for, unique_bucket
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(
    tmp_path: Path, seaweed: SeaweedServer, catalogue_url: URL, capsys: pytest.CaptureFixture[str]
) -> Iterator[WitnessRig]:
    """A box of 12 records (checkpoints 4, 8, 12), uploaded and synced: all three co-signed."""
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    url = catalogue_url.render_as_string(hide_password=False)
    made = make_rig(tmp_path, seaweed, store, url, capsys)
    made.box.record(12)
    made.box.upload(store)
    assert made.sync()[1]["witness"]["witnessed"] == 3
    made.box.close()
    yield made


def stream_dir(rig: WitnessRig) -> Path:
    return rig.box.files.root


def plain_verify(rig: WitnessRig) -> int:
    """`evgw verify` with the device key alone: what the box says about itself."""
    pub = rig.folder / "gw-1.pub"
    pub.write_text(rig.box.public_key + "\n")
    code = main(["verify", str(rig.box.data_dir), "--pubkey", str(pub)])
    rig.capsys.readouterr()
    return code


def cut_tail(rig: WitnessRig, n: int) -> None:
    """Cut the last `n` records, their segment files, the checkpoints covering them, and
    their rows in the box's index, as a thief tidying up would."""
    root = stream_dir(rig)
    lines = (root / LEDGER_NAME).read_bytes().splitlines()
    keep = len(lines) - n
    for line in lines[keep:]:
        record = Record.from_json(line)
        assert record.file is not None
        (root / record.file).unlink()
    (root / LEDGER_NAME).write_bytes(b"".join(line + b"\n" for line in lines[:keep]))
    kept = [cp for cp in read_checkpoints(root) if cp.size <= keep]
    (root / CHECKPOINTS_NAME).write_bytes(b"".join(cp.to_json() + b"\n" for cp in kept))
    with sqlite3.connect(rig.box.data_dir / "index.sqlite") as db:
        db.execute("DELETE FROM segments WHERE seq >= ?", (keep,))
        db.execute("DELETE FROM uploads WHERE (what != 'checkpoint' AND seq >= ?) OR seq > ?",
                   (keep, keep))  # fmt: skip


def rewrite(rig: WitnessRig, seq: int, **changes: object) -> None:
    """Re-sign the whole ledger with the device key, one record changed."""
    root = stream_dir(rig)
    records = [Record.from_json(line) for line in (root / LEDGER_NAME).read_bytes().splitlines()]
    (root / LEDGER_NAME).unlink()
    (root / CHECKPOINTS_NAME).unlink()
    ledger = Ledger.open(root, "cam1", "gw-1", rig.box.signer, every_records=4)
    for r in records:
        ledger.append(replace(r, **changes) if r.seq == seq else r)


# -- attacks ------------------------------------------------------------------------------


def test_a_cut_tail_is_not_authentic_and_names_the_missing_records(rig: WitnessRig) -> None:
    cut_tail(rig, 3)
    assert plain_verify(rig) == 0, "the box alone hides its cut"
    code, out = rig.verify_box()
    assert code == 1, out
    assert "verdict: NOT_AUTHENTIC" in out
    assert "[W2] records 9..11 missing: the witnessed checkpoint of size 12" in out
    code, out = rig.verify_box("--json")
    report = json.loads(out)
    assert report["gateway"] == "gw-1" and report["report"]["verdict"] == "NOT_AUTHENTIC"
    (stream,) = report["report"]["streams"]
    missing = [f for f in stream["findings"] if f["verdict"] == "MISSING"]
    assert [f["seq"] for f in missing] == [9, 10, 11]
    assert stream["witness"]["newest_size"] == 12


def test_a_rewritten_record_is_not_authentic(rig: WitnessRig) -> None:
    rewrite(rig, 5, location="别处")
    assert plain_verify(rig) == 0, "re-signed with the device key, the box verifies alone"
    code, out = rig.verify_box()
    assert code == 1 and "verdict: NOT_AUTHENTIC" in out
    assert "W3" in out or "rewritten" in out


# -- the untouched box ----------------------------------------------------------------------


def test_an_untouched_box_passes_against_the_witness(rig: WitnessRig) -> None:
    code, out = rig.verify_box()
    assert code == 0, out
    assert f"box of gateway gw-1, held to 1 cosignature of witness {NAME}:" in out
    # the cosignature's time on this machine's clock, with the offset (UTC stays in --json)
    assert re.search(r"cosigned \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d\d:\d\d;", out), out
    assert "times shown in" in out
    assert "newest size 12" in out and "the ledger holds them unchanged" in out
    code, out = rig.verify_box("--camera", "cam1", "--json")
    assert code == 0 and json.loads(out)["witnessed"][0].endswith("00000012.witnessed")


def test_a_box_the_archive_never_witnessed_is_a_usage_error(rig: WitnessRig) -> None:
    args = ["archive", "verify-box", str(rig.box.data_dir), "--config", str(rig.config)]
    assert main([*args, "--gateway", "gw-9"]) == 2
    err = rig.capsys.readouterr().err
    assert "no checkpoint of gateway 'gw-9'" in err and "evgw archive sync" in err
