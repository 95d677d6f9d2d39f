"""`segments.verify` and `evgw verify`: each tamper case of issue 3 with its expected verdict."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.agekeys import X25519Identity
from segments.ledger import CHECKPOINTS_NAME, LEDGER_NAME, Ledger
from segments.records import Record
from segments.signing import Ed25519Signer, fingerprint
from segments.timeline import iso_utc
from segments.trust import TrustedKeys, parse_trust_text
from segments.verify import (
    KEY_FROM_CALLER,
    KEY_FROM_LEDGER,
    DirMediaSource,
    Report,
    Verdict,
    verify,
)
from tests.segments.sealed_stream import IDENTITY, SIGNER, T0, Stream

REPO = Path(__file__).resolve().parents[2]
TRUSTED = TrustedKeys.single(SIGNER.verifier())


def check(stream: Stream, **kw: object) -> Report:
    """Verify with the stream's real device key trusted, unless `trust` says otherwise."""
    kw.setdefault("trust", TRUSTED)
    return verify([("cam1", DirMediaSource(stream.root))], **kw)  # type: ignore[arg-type]


def verdicts(report: Report) -> dict[int, str]:
    return {f.seq: f.verdict for f in report.streams[0].findings}


STEPS = {f"V{n}" for n in range(1, 13)}


def assert_steps_named(report: Report) -> None:
    """Every finding and issue names the procedure step (V1-V12) that produced it."""
    for stream in report.streams:
        for f in stream.findings:
            parts = f.detail.split("; ") if f.detail else []
            assert set(f.steps) <= STEPS and len(f.steps) <= len(parts)
            assert all(p.startswith(tuple(f"[{s}] " for s in f.steps)) for p in parts), f
        for i in stream.issues:
            assert i.step in STEPS and i.detail.startswith(f"[{i.step}] "), i


@pytest.fixture
def stream(tmp_path: Path) -> Stream:
    """key, boot, five segments (seqs 2-6), a final checkpoint."""
    s = Stream(tmp_path / "data")
    s.start()
    for _ in range(5):
        s.segment()
    s.ledger.checkpoint()
    return s


def test_intact_is_authentic(stream: Stream) -> None:
    report = check(stream)
    assert report.verdict is Verdict.AUTHENTIC
    assert set(verdicts(report).values()) == {"OK"}
    assert report.key_source == KEY_FROM_CALLER
    assert report.fingerprint == fingerprint(SIGNER)
    assert report.streams[0].pinned == 7
    assert json.loads(report.to_json())["verdict"] == "AUTHENTIC"


def test_without_a_trusted_key_the_verdict_is_integrity_only(stream: Stream) -> None:
    report = check(stream, trust=None)
    assert report.verdict is Verdict.INTEGRITY_ONLY
    assert report.integrity is Verdict.AUTHENTIC
    assert report.key_source == KEY_FROM_LEDGER
    assert set(verdicts(report).values()) == {"OK"}  # the table still shows integrity
    assert report.streams[0].origin == "no trusted key given"


def test_without_a_trusted_key_a_failing_verdict_still_wins(stream: Stream) -> None:
    stream.file(Record.from_json(stream.lines()[3])).write_bytes(b"x")
    report = check(stream, trust=None)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[3] == "HASH_MISMATCH"


def test_a_ledger_made_entirely_with_an_attackers_key_is_never_authentic(tmp_path: Path) -> None:
    attacker = Ed25519Signer(Ed25519PrivateKey.generate())
    forged = Stream(tmp_path, signer=attacker)
    forged.start(signer=attacker)
    for _ in range(3):
        forged.segment()
    forged.ledger.checkpoint()
    assert check(forged, trust=None).verdict is Verdict.INTEGRITY_ONLY
    report = check(forged)  # the real gateway's key
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert set(verdicts(report).values()) == {"SIG_BAD"}
    listed = parse_trust_text(f"gw1 {SIGNER.public_key_text()}\n", "trust.txt")
    assert check(forged, trust=listed).verdict is Verdict.NOT_AUTHENTIC


def test_the_trust_file_picks_the_key_of_the_gateway_the_records_name(stream: Stream) -> None:
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    text = f"gw0 {other.public_key_text()}\ngw1 {SIGNER.public_key_text()}\n"
    report = check(stream, trust=parse_trust_text(text, "trust.txt"))
    assert report.verdict is Verdict.AUTHENTIC and report.key_source == KEY_FROM_CALLER
    assert report.streams[0].origin == "for gateway 'gw1' from trust.txt"
    rotated = f"gw1 {other.public_key_text()}\ngw1 {SIGNER.public_key_text()}\n"
    assert check(stream, trust=parse_trust_text(rotated, "t")).verdict is Verdict.AUTHENTIC
    unlisted = check(stream, trust=parse_trust_text(f"gw0 {other.public_key_text()}\n", "t"))
    assert unlisted.verdict is Verdict.INTEGRITY_ONLY
    assert unlisted.streams[0].origin == "t lists no key for 'gw1'"


def test_wrong_trusted_pubkey_fails_every_record(stream: Stream) -> None:
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    report = check(stream, trust=TrustedKeys.single(other.verifier()))
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert set(verdicts(report).values()) == {"SIG_BAD"}


def test_a_record_naming_another_gateway_breaks_the_chain(stream: Stream) -> None:
    stream.ledger.append(replace(stream.draft("gap", stream.t, stream.t + 5), gateway="gw9"))
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[7] == "CHAIN_BREAK"


def test_declared_camera_outage(tmp_path: Path) -> None:
    s = Stream(tmp_path)
    s.start()
    s.segment()
    s.gap(30)
    s.segment()
    report = check(s)
    assert report.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    assert verdicts(report)[3] == "GAP(camera_offline)"


def test_restart_after_power_loss_is_a_declared_gap(stream: Stream) -> None:
    stream.ledger.append(stream.draft("boot", stream.t, stream.t + 60, reason="power_loss"))
    assert verdicts(check(stream))[7] == "GAP(power_loss)"


def test_delete_middle_segment_with_its_record(stream: Stream) -> None:
    lines = stream.lines()
    record = Record.from_json(lines[4])
    stream.file(record).unlink()
    stream.write_lines(lines[:4] + lines[5:])
    report = check(stream)
    assert report.verdict is Verdict.INCOMPLETE
    assert verdicts(report)[4] == "MISSING"
    assert verdicts(report)[5] == "OK"  # its prev points at the absent line: not a chain break


def test_delete_only_a_media_file(stream: Stream) -> None:
    stream.file(Record.from_json(stream.lines()[3])).unlink()
    report = check(stream)
    assert report.verdict is Verdict.INCOMPLETE
    assert verdicts(report)[3] == "MISSING"


def test_swap_two_segments(stream: Stream) -> None:
    lines = stream.lines()
    a, b = Record.from_json(lines[3]), Record.from_json(lines[4])
    tmp = stream.file(a).with_suffix(".tmp")
    stream.file(a).rename(tmp)
    stream.file(b).rename(stream.file(a))
    tmp.rename(stream.file(b))
    lines[3], lines[4] = lines[4], lines[3]
    stream.write_lines(lines)
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert "CHAIN_BREAK" in verdicts(report).values()


def test_swap_only_two_files(stream: Stream) -> None:
    lines = stream.lines()
    a, b = stream.file(Record.from_json(lines[3])), stream.file(Record.from_json(lines[4]))
    tmp = a.with_suffix(".tmp")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[3] == verdicts(report)[4] == "HASH_MISMATCH"


def test_truncate_a_file(stream: Stream) -> None:
    path = stream.file(Record.from_json(stream.lines()[5]))
    path.write_bytes(path.read_bytes()[:-100])
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[5] == "HASH_MISMATCH"


def test_flip_one_byte(stream: Stream) -> None:
    path = stream.file(Record.from_json(stream.lines()[2]))
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[2] == "HASH_MISMATCH"


def test_replay_old_media_under_newer_record(stream: Stream) -> None:
    lines = stream.lines()
    old, new = Record.from_json(lines[2]), Record.from_json(lines[6])
    shutil.copyfile(stream.file(old), stream.file(new))
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[6] == "HASH_MISMATCH"


def test_reappend_an_old_record(stream: Stream) -> None:
    lines = stream.lines()
    stream.write_lines([*lines, lines[3]])
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[3] == "CHAIN_BREAK"
    assert verdicts(report)[6] == "OK"


def test_edit_a_timestamp_without_the_key(stream: Stream) -> None:
    lines = stream.lines()
    obj = json.loads(lines[4])
    obj["start"] = iso_utc(T0 - 3600)
    lines[4] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    stream.write_lines(lines)
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[4] == "SIG_BAD"


def test_cut_off_last_records_against_checkpoint(stream: Stream) -> None:
    stream.write_lines(stream.lines()[:-2])
    report = check(stream)
    assert report.verdict is Verdict.INCOMPLETE
    findings = {f.seq: f for f in report.streams[0].findings}
    assert findings[5].verdict == findings[6].verdict == "MISSING"
    assert "cut off" in findings[6].detail


def test_rewritten_history_fails_checkpoint(stream: Stream) -> None:
    cp_path = stream.root / CHECKPOINTS_NAME
    obj = json.loads(cp_path.read_bytes().splitlines()[-1])
    obj["root"] = "0" * 64
    cp_path.write_bytes(json.dumps(obj).encode() + b"\n")
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert any("signature" in i.detail for i in report.streams[0].issues)


def test_record_signed_by_another_key(stream: Stream) -> None:
    other = Ed25519Signer(Ed25519PrivateKey.generate())
    intruder = Ledger.open(stream.root, "cam1", "gw1", other, every_records=1000)
    intruder.append(stream.draft("gap", stream.t, stream.t + 5, reason="camera_offline"))
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[7] == "SIG_BAD"


def test_crash_leftover_sealed_as_truncated(tmp_path: Path) -> None:
    s = Stream(tmp_path)
    s.start()
    s.segment()
    rec = s.truncated()
    s.ledger.append(s.draft("boot", s.t, s.t + 20, reason="power_loss"))
    s.t += 20
    s.segment()
    report = check(s)
    assert report.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    assert verdicts(report)[rec.seq] == "TRUNCATED"
    with_key = check(s, identities=[IDENTITY])
    assert with_key.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    row = {f.seq: f for f in with_key.streams[0].findings}[rec.seq]
    assert row.verdict == "TRUNCATED" and "196608 bytes of plaintext authenticated" in row.detail


def test_identity_catches_plaintext_mismatch(tmp_path: Path) -> None:
    s = Stream(tmp_path)
    s.start()
    s.segment()
    s.segment(sha256_plain="ab" * 32)
    assert check(s).verdict is Verdict.AUTHENTIC
    report = check(s, identities=[IDENTITY])
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report) == {0: "OK", 1: "OK", 2: "OK", 3: "HASH_MISMATCH"}


def test_wrong_identity_leaves_plaintext_unchecked(stream: Stream) -> None:
    report = check(stream, identities=[X25519Identity(bytes(32 * [7]))])
    assert report.verdict is Verdict.INCOMPLETE
    assert all("plaintext not checked" in i.detail for i in report.streams[0].issues)


def test_time_regression_and_declared_clock_step(tmp_path: Path) -> None:
    s = Stream(tmp_path)
    s.start()
    s.segment()
    s.t -= 600
    s.segment()
    assert verdicts(check(s))[3] == "TIME_REGRESSION"

    s2 = Stream(tmp_path / "b")
    s2.start()
    s2.segment()
    s2.ledger.append(s2.draft("clock", s2.t + 2, s2.t - 598, reason="clock_step"))
    s2.segment()  # still on the old timeline (opened before the step)
    s2.t -= 600
    s2.segment()
    assert check(s2).verdict is Verdict.AUTHENTIC


@pytest.mark.parametrize(("late_s", "verdict"), [(1.5, "AUTHENTIC"), (3.0, "NOT_AUTHENTIC")])
def test_a_clock_step_read_while_the_pts_timeline_runs_ahead(
    tmp_path: Path, late_s: float, verdict: str
) -> None:
    """The reproduction (a loaded CI box): the step is read off the wall clock 1.3 s before
    the PTS-timed segment ends, and the next segment lands 61.1 s back for a 60 s step."""
    s = Stream(tmp_path)
    s.start()
    s.segment()
    s.ledger.append(s.draft("clock", s.t - late_s, s.t - late_s - 60, reason="clock_step"))
    s.segment()  # still on the old timeline (opened before the step)
    s.t -= 60 + late_s
    s.segment()
    assert check(s).verdict.value == verdict


def test_unfinished_last_line_is_incomplete(stream: Stream) -> None:
    with open(stream.root / LEDGER_NAME, "ab") as f:
        f.write(b'{"camera":"cam1","ki')
    assert check(stream).verdict is Verdict.INCOMPLETE


def test_progress_reaches_total(stream: Stream) -> None:
    calls: list[tuple[int, int]] = []
    check(stream, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1] > 0


def test_no_key_record_and_no_pubkey(stream: Stream) -> None:
    stream.write_lines(stream.lines()[1:])
    report = check(stream, trust=None)
    assert report.verdict is Verdict.NOT_AUTHENTIC and report.key_source == "none"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=200), max_size=8), st.binary(max_size=200))
def test_random_bytes_give_findings_not_exceptions(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], checkpoints: bytes
) -> None:
    root = tmp_path_factory.mktemp("fuzz")
    (root / LEDGER_NAME).write_bytes(b"\n".join(lines))
    (root / CHECKPOINTS_NAME).write_bytes(checkpoints)
    report = verify([("cam1", DirMediaSource(root))], identities=[IDENTITY])
    assert report.verdict in set(Verdict) - {Verdict.AUTHENTIC}
    assert_steps_named(report)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_record_fields_give_findings_not_exceptions(
    tmp_path_factory: pytest.TempPathFactory, data: st.DataObject
) -> None:
    root = tmp_path_factory.mktemp("mut")
    base = Stream(root)
    base.start()
    base.segment()
    lines = base.lines()
    i = data.draw(st.integers(0, len(lines) - 1))
    obj = json.loads(lines[i])
    key = data.draw(st.sampled_from(sorted(obj)))
    before, obj[key] = json.dumps(obj[key]), data.draw(_JSON)
    lines[i] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    base.write_lines(lines)
    report = check(base, identities=[IDENTITY])
    assert_steps_named(report)
    if json.dumps(obj[key]) != before:
        assert report.verdict is Verdict.NOT_AUTHENTIC


# --- step ids ---


def test_each_finding_names_the_step_that_found_it(stream: Stream) -> None:
    lines = stream.lines()
    stream.file(Record.from_json(lines[3])).write_bytes(b"x")  # V9: ciphertext
    obj = json.loads(lines[4])
    obj["start"] = iso_utc(T0 - 3600)  # V3: signature
    lines[4] = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    stream.write_lines([*lines[:-1], b"not json", lines[-1]])  # V1: parse
    report = check(stream)
    assert_steps_named(report)
    rows = {f.seq: f for f in report.streams[0].findings}
    assert rows[3].steps == ("V9",) and rows[3].detail.startswith("[V9] media file has 1 bytes")
    assert "V3" in rows[4].steps and "[V3] signature does not verify" in rows[4].detail
    issues = report.streams[0].issues
    assert [i.step for i in issues] == ["V1", "V8"]  # unreadable line; tree head no longer matches
    assert issues[0].detail.startswith("[V1] ledger line 7 is unreadable")
    doc = json.loads(report.to_json())
    row = next(f for f in doc["streams"][0]["findings"] if f["seq"] == 3)
    assert row["steps"] == ["V9"] and row["detail"].startswith("[V9] ")
    assert doc["streams"][0]["issues"][0]["step"] == "V1"


def test_a_cut_off_tail_is_found_by_the_checkpoint_step(stream: Stream) -> None:
    stream.write_lines(stream.lines()[:-2])
    rows = {f.seq: f for f in check(stream).streams[0].findings}
    assert rows[6].steps == ("V8",) and rows[6].detail.startswith("[V8] cut off")


# --- CLI ---


def evgw(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway", "verify", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_intact_table_and_json(stream: Stream, tmp_path: Path) -> None:
    data_dir = stream.root.parent.parent
    out = evgw(str(data_dir), "--pubkey", SIGNER.public_key_text())
    assert out.returncode == 0, out.stderr
    assert "verdict: AUTHENTIC" in out.stdout and fingerprint(SIGNER) in out.stdout
    key_file = tmp_path / "device.pub"
    key_file.write_text(SIGNER.public_key_text() + "\n")
    id_file = tmp_path / "archive.key"
    id_file.write_text(str(IDENTITY) + "\n")
    out = evgw(str(stream.root), "--json", "--pubkey", str(key_file), "--identity", str(id_file))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["verdict"] == "AUTHENTIC" and doc["key_source"] == KEY_FROM_CALLER
    trust_file = tmp_path / "trust.txt"
    trust_file.write_text(f"# enrolled gateways\ngw1 {SIGNER.public_key_text()}\n")
    assert evgw(str(data_dir), "--trust", str(trust_file)).returncode == 0


def test_cli_without_a_trusted_key_exits_4_and_says_how_to_establish_origin(
    stream: Stream,
) -> None:
    out = evgw(str(stream.root.parent.parent))
    assert out.returncode == 4, out.stderr
    assert "verdict: INTEGRITY_ONLY" in out.stdout
    assert "origin NOT established" in out.stdout and "--pubkey" in out.stdout
    assert "--trust FILE" in out.stdout
    row = next(line for line in out.stdout.splitlines() if line.split()[:1] == ["3"])
    assert "OK" in row


def test_cli_refuses_pubkey_with_trust_and_a_bad_trust_file(stream: Stream, tmp_path: Path) -> None:
    bad = tmp_path / "trust.txt"
    bad.write_text("gw1 ed25519:AAAA extra\n")
    out = evgw(str(stream.root), "--trust", str(bad))
    assert out.returncode == 2 and "trust.txt line 1" in out.stderr, out.stderr
    out = evgw(str(stream.root), "--trust", str(bad), "--pubkey", SIGNER.public_key_text())
    assert out.returncode == 2 and "not allowed with argument" in out.stderr


def test_cli_table_shows_the_step_of_each_finding(stream: Stream) -> None:
    stream.file(Record.from_json(stream.lines()[3])).write_bytes(b"x")
    out = evgw(str(stream.root))
    assert out.returncode == 1
    row = next(line for line in out.stdout.splitlines() if line.split()[:1] == ["3"])
    assert "HASH_MISMATCH" in row and "[V9] media file has 1 bytes" in row


def test_cli_tampered_exits_1(stream: Stream) -> None:
    stream.file(Record.from_json(stream.lines()[3])).write_bytes(b"x")
    out = evgw(str(stream.root.parent.parent), "--json", "--camera", "cam1")
    assert out.returncode == 1
    assert json.loads(out.stdout)["verdict"] == "NOT_AUTHENTIC"


def test_cli_usage_errors_exit_2(stream: Stream, tmp_path: Path) -> None:
    assert evgw(str(tmp_path / "nope")).returncode == 2
    assert evgw(str(stream.root), "--identity", str(tmp_path / "absent.key")).returncode == 2
    assert evgw(str(stream.root), "--camera", "cam9").returncode == 2
    assert evgw(str(stream.root), "--pubkey", "ed25519:bad").returncode == 2


# --- ring-buffer evictions: a signed `purge` record declares the removal ---


def purge(
    stream: Stream, target: Record, reason: str = "evicted_confirmed", **extra: object
) -> Record:
    facts = {
        "seq": target.seq,
        "file": target.file,
        "sha256_cipher": target.sha256_cipher,
        "size_cipher": target.size_cipher,
        "confirmed": reason == "evicted_confirmed",
    }
    draft = stream.draft("purge", stream.t, stream.t, reason=reason)
    return stream.ledger.append(replace(draft, extra={**facts, **extra}))


def segment_record(stream: Stream, seq: int) -> Record:
    return Record.from_json(stream.lines()[seq])


@pytest.mark.parametrize("reason", ["evicted_confirmed", "evicted_unuploaded"])
def test_evicted_segment_is_a_declared_gap(stream: Stream, reason: str) -> None:
    target = segment_record(stream, 3)
    record = purge(stream, target, reason)
    stream.file(target).unlink()
    report = check(stream)
    assert report.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    assert verdicts(report)[3] == f"GAP({reason})"
    assert verdicts(report)[record.seq] == "OK"
    assert f"purge record seq {record.seq}" in report.streams[0].findings[3].detail


def test_purge_declared_but_file_kept_is_still_checked(stream: Stream) -> None:
    target = segment_record(stream, 3)
    purge(stream, target)
    assert check(stream).verdict is Verdict.AUTHENTIC
    with open(stream.file(target), "r+b") as f:
        f.write(b"X")
    assert verdicts(check(stream))[3] == "HASH_MISMATCH"


def test_purge_with_other_hash_does_not_excuse_the_absence(stream: Stream) -> None:
    target = segment_record(stream, 3)
    record = purge(stream, target, sha256_cipher="0" * 64)
    stream.file(target).unlink()
    report = check(stream)
    assert report.verdict is Verdict.NOT_AUTHENTIC
    assert verdicts(report)[3] == "MISSING"
    assert verdicts(report)[record.seq] == "HASH_MISMATCH"


def test_purge_of_a_non_segment_or_later_seq_is_reported(stream: Stream) -> None:
    boot = purge(stream, segment_record(stream, 1))
    ahead = purge(stream, replace(segment_record(stream, 2), seq=99))
    report = check(stream)
    assert verdicts(report)[boot.seq] == "HASH_MISMATCH"
    assert verdicts(report)[ahead.seq] == "HASH_MISMATCH"


def test_forged_purge_record_declares_nothing(stream: Stream) -> None:
    target = segment_record(stream, 3)
    record = purge(stream, segment_record(stream, 4))
    lines = stream.lines()
    forged = replace(
        record,
        extra={
            **record.extra,
            "seq": 3,
            "file": target.file,
            "sha256_cipher": target.sha256_cipher,
            "size_cipher": target.size_cipher,
        },
    )
    stream.write_lines([*lines[:-1], forged.to_json()])
    stream.file(target).unlink()
    report = check(stream)
    assert verdicts(report)[3] == "MISSING"
    assert verdicts(report)[record.seq] == "SIG_BAD"


def test_purge_written_while_a_segment_is_open_is_not_a_time_regression(stream: Stream) -> None:
    target = segment_record(stream, 2)
    stream.ledger.append(
        replace(
            stream.draft("purge", stream.t + 5, stream.t + 5, reason="evicted_confirmed"),
            extra={
                "seq": 2,
                "sha256_cipher": target.sha256_cipher,
                "size_cipher": target.size_cipher,
            },
        )
    )
    stream.segment()  # started at stream.t, before the purge's time
    stream.file(target).unlink()
    report = check(stream)
    assert report.verdict is Verdict.AUTHENTIC_WITH_DECLARED_GAPS
    assert "TIME_REGRESSION" not in verdicts(report).values()


def test_declared_camera_drift_backward_and_forward(tmp_path: Path) -> None:
    """A `clock(camera_drift)` record explains the time line moving either way, no further."""
    s = Stream(tmp_path / "ok")
    s.start()
    s.segment()
    s.ledger.append(s.draft("clock", s.t, s.t - 3.0, reason="camera_drift"))  # camera ahead
    s.t -= 3.0
    s.segment()
    s.ledger.append(s.draft("clock", s.t, s.t + 5.0, reason="camera_drift"))  # camera behind
    s.t += 5.0
    s.segment()
    assert check(s).verdict is Verdict.AUTHENTIC

    short = Stream(tmp_path / "short")
    short.start()
    short.segment()
    short.ledger.append(short.draft("clock", short.t, short.t - 1.0, reason="camera_drift"))
    short.t -= 3.5  # more than declared (1 s) plus the tolerance (1 s)
    short.segment()
    assert verdicts(check(short))[4] == "TIME_REGRESSION"


def test_a_camera_record_is_a_declared_event(stream: Stream) -> None:
    moved = replace(
        stream.draft("camera", stream.t + 30, stream.t + 30, reason="moved"),
        extra={
            "event": "moved",
            "old_address": "http://10.0.0.5/onvif/device_service",
            "new_address": "http://10.0.0.9/onvif/device_service",
            "serial": "SN-1",
        },
    )
    record = stream.ledger.append(moved)  # its time is after the segment written next
    stream.segment()
    report = check(stream)
    assert report.verdict is Verdict.AUTHENTIC
    [row] = [f for f in report.streams[0].findings if f.seq == record.seq]
    assert (row.verdict, row.kind, row.steps) == ("OK", "camera", ("V6",))
    assert "declared camera moved: http://10.0.0.5/" in row.detail
    assert "-> http://10.0.0.9/onvif/device_service, serial SN-1" in row.detail
    assert_steps_named(report)
    from gateway.cli.verify import render

    [line] = [x for x in render(report).splitlines() if x.strip().startswith(f"{record.seq} ")]
    assert " camera " in line and " OK " in line and "declared camera moved" in line
