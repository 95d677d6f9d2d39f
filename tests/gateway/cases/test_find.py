"""`evgw find` against `evgw status` and `evgw verify`: the same segment, the same story.

The first test records for real with a small quota and no `[upload]` section, so the ring
buffer purges unuploaded segments, stops cleanly, and asks all three commands about the same
data dir (issue 13: purges were reported as tampering, as MISSING, and the time after a
clean stop as an undeclared gap). The others build ledgers by hand for the time-line rules.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.cases.lookup import Stream as LedgerStream
from gateway.cases.lookup import select
from gateway.cli.main import main
from gateway.config import Config
from segments.ledger import read_checkpoints, read_lines
from segments.records import Record
from segments.timeline import iso_utc
from testbeds.rtsp import RtspTestServer
from tests.conftest import RtspServerFactory
from tests.segments.sealed_stream import SEG_S, SIGNER, T0, Stream
from tests.support.recording import Cam, make_config, records
from tests.support.waiting import wait_until

CAMERA = "gate-1"


def evgw(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str]:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    return rc, capsys.readouterr().out


def pubkey(config: Config) -> str:
    return str(config.keys.signing_key) + ".pub"


@pytest.fixture
def evicting(tmp_path: Path, rtsp_server_factory: RtspServerFactory) -> Config:
    """A real recording whose ring buffer purged unuploaded segments, stopped cleanly."""
    from gateway.daemon.lifecycle import Gateway

    camera: RtspTestServer = rtsp_server_factory(["cam1:320x240@25"])
    storage = "[storage]\nquota_bytes = 150_000\nmin_free_bytes = 0\n"
    config = make_config(tmp_path, [Cam(CAMERA, camera.url("cam1"))], extra=storage)
    gateway = Gateway(config)
    gateway.start()
    try:
        wait_until("three purges", lambda: len(records(config, CAMERA, "purge")) >= 3, 120)
    finally:
        gateway.stop()
    return config


@pytest.mark.integration
def test_status_find_and_verify_agree_on_purged_segments(
    evicting: Config, capsys: pytest.CaptureFixture[str]
) -> None:
    purged = {r.extra["seq"] for r in records(evicting, CAMERA, "purge")}
    segs = records(evicting, CAMERA, "segment")
    kept = {s.seq for s in segs} - purged

    rc, out = evgw(capsys, "status", "--config", evicting.path)
    assert rc == 0
    assert "REFUSED" not in out and "tamper" not in out.lower()
    assert "uploading is off" in out and "upload backlog" not in out
    rc, out = evgw(capsys, "status", "--config", evicting.path, "--json")
    status = json.loads(out)
    assert status["refused_uploads"] == 0 and status["backlog_count"] == 0
    (camera,) = status["cameras"]
    assert camera["purged_segments"] == len(purged) and camera["local_segments"] == len(kept)
    assert camera["missing_segments"] == 0

    stop = max(datetime.fromisoformat(r.end or r.start or "") for r in records(evicting, CAMERA)
               if r.kind not in ("purge", "export", "hold")).timestamp()  # fmt: skip
    wait_until("some time after the clean stop", lambda: time.time() > stop + 3, 10)
    start = datetime.fromisoformat(segs[0].start or "")
    now = datetime.now(UTC)
    window = ["--camera", CAMERA, "--from", start.isoformat(),
              "--to", (now + timedelta(minutes=5)).isoformat()]  # fmt: skip
    rc, out = evgw(capsys, "find", "--config", evicting.path, *window, "--json",
                   "--pubkey", pubkey(evicting))  # fmt: skip
    found = json.loads(out)
    assert rc == 0, found
    assert found["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    by_seq = {s["seq"]: s for s in found["segments"]}
    assert {q for q, s in by_seq.items() if s["state"] == "purged"} == purged
    assert {q for q, s in by_seq.items() if s["state"] == "local"} == kept
    assert all(by_seq[q]["verdict"] == "GAP(evicted_unuploaded)" for q in purged)
    statuses = [(g["status"], g["reason"]) for g in found["gaps"]]
    assert ("undeclared", "undeclared") not in statuses, found["gaps"]
    assert statuses[-2:] == [("declared", "operator_stop"), ("future", "future")]

    rc, out = evgw(capsys, "verify", evicting.gateway.data_dir, "--json",
                   "--pubkey", pubkey(evicting))  # fmt: skip
    report = json.loads(out)
    assert rc == 0 and report["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    verdicts = {f["seq"]: f["verdict"] for f in report["streams"][0]["findings"]}
    assert {q: verdicts[q] for q in by_seq} == {q: s["verdict"] for q, s in by_seq.items()}


# --- the time line, on hand-made ledgers ---


def ledger_of(stream: Stream) -> LedgerStream:
    lines = tuple(read_lines(stream.root / "ledger.jsonl"))
    return LedgerStream(
        "cam1",
        stream.root,
        lines,
        tuple(Record.from_json(line) for line in lines),
        tuple(read_checkpoints(stream.root)),
    )


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def gaps(stream: Stream, start: float, end: float, now: float) -> list[tuple[str, str, Any]]:
    chosen = select(ledger_of(stream), at(start), at(end), at(now))
    return [(h.status, h.reason, h.seq) for h in chosen.holes]


@pytest.fixture
def stopped(tmp_path: Path) -> Stream:
    """Three segments, then a clean stop (a final checkpoint over every record)."""
    s = Stream(tmp_path, every=1000)
    s.start()
    for _ in range(3):
        s.segment()
    s.ledger.checkpoint()
    return s


def test_after_a_clean_stop_the_time_is_declared_and_after_now_it_is_future(
    stopped: Stream,
) -> None:
    end = T0 + 3 * SEG_S
    assert gaps(stopped, T0, end + 600, now=end + 300) == [
        ("declared", "operator_stop", None),
        ("future", "future", None),
    ]


def test_after_the_last_record_of_a_running_gateway_it_is_not_yet_recorded(
    stopped: Stream,
) -> None:
    stopped.segment()  # after the final checkpoint: recording again, no clean stop since
    end = T0 + 4 * SEG_S
    assert gaps(stopped, T0, end + 60, now=end + 60) == [
        ("not_yet_recorded", "not yet recorded", None)
    ]


def test_the_boot_after_a_stop_declares_the_pause(stopped: Stream) -> None:
    stop = stopped.t
    boot = stopped.ledger.append(
        replace(stopped.draft("boot", stop, stop + 600), reason="operator_stop")
    )
    stopped.t = stop + 600
    stopped.segment()
    assert gaps(stopped, T0, stopped.t, now=stopped.t + 10) == [
        ("declared", "operator_stop", boot.seq)
    ]


def test_time_before_the_first_record_is_not_a_gap(stopped: Stream) -> None:
    assert gaps(stopped, T0 - 3600, T0 + SEG_S, now=T0 + 3600) == [
        ("before_ledger", "before the ledger's first record", None)
    ]


def test_time_no_record_explains_is_undeclared(stopped: Stream) -> None:
    stopped.t += 120  # a jump without any gap record
    stopped.segment()
    assert gaps(stopped, T0, stopped.t, now=stopped.t + 10) == [("undeclared", "undeclared", None)]


def test_find_calls_a_signed_purge_what_verify_calls_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = make_config(tmp_path, [Cam("cam1", "rtsp://127.0.0.1:1/x")])
    s = Stream(config.gateway.data_dir)
    s.start()
    segs = [s.segment() for _ in range(3)]
    target = segs[0]
    facts = {"seq": target.seq, "file": target.file, "sha256_cipher": target.sha256_cipher,
             "size_cipher": target.size_cipher, "confirmed": False}  # fmt: skip
    s.ledger.append(replace(s.draft("purge", s.t, s.t, reason="evicted_unuploaded"), extra=facts))
    s.ledger.checkpoint()
    s.file(target).unlink()
    window = ["--camera", "cam1", "--from", iso_utc(T0), "--to", iso_utc(s.t)]
    trusted = ["--pubkey", SIGNER.public_key_text()]
    rc, out = evgw(capsys, "find", "--config", config.path, *window, "--json", *trusted)
    found = json.loads(out)
    assert rc == 0 and found["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    first = found["segments"][0]
    assert (first["state"], first["verdict"]) == ("purged", "GAP(evicted_unuploaded)")
    rc, out = evgw(capsys, "verify", config.gateway.data_dir, "--json", *trusted)
    assert rc == 0
    rows = {f["seq"]: f["verdict"] for f in json.loads(out)["streams"][0]["findings"]}
    assert rows[target.seq] == "GAP(evicted_unuploaded)"
    rc, out = evgw(capsys, "find", "--config", config.path, *window)
    assert rc == 4 and "verdict: INTEGRITY_ONLY" in out and "origin NOT established" in out


def test_a_purge_signed_by_another_key_excuses_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from segments.ledger import Ledger
    from segments.signing import Ed25519Signer

    config = make_config(tmp_path, [Cam("cam1", "rtsp://127.0.0.1:1/x")])
    s = Stream(config.gateway.data_dir)
    s.start()
    target = s.segment()
    s.segment()
    intruder = Ledger.open(s.root, "cam1", "gw1", Ed25519Signer(Ed25519PrivateKey.generate()))
    facts = {"seq": target.seq, "sha256_cipher": target.sha256_cipher,
             "size_cipher": target.size_cipher}  # fmt: skip
    intruder.append(replace(s.draft("purge", s.t, s.t, reason="evicted_unuploaded"), extra=facts))
    s.file(target).unlink()
    window = ["--camera", "cam1", "--from", iso_utc(T0), "--to", iso_utc(s.t)]
    rc, out = evgw(capsys, "find", "--config", config.path, *window, "--json",
                   "--pubkey", SIGNER.public_key_text())  # fmt: skip
    found = json.loads(out)
    assert rc == 1 and found["verdict"] == "INCOMPLETE"
    assert (found["segments"][0]["state"], found["segments"][0]["verdict"]) == (
        "missing",
        "MISSING",
    )
