"""The package check (`evgw verify-export`): a package built from a small sealed stream.

Covers the steps P1-P10 with their ids (P8, re-derivation, needs real video: see
tests/gateway/cases/test_export.py), origin only from a trusted key, the reviewer's attacks,
the version refusals, and fuzzed report, record and signature files (only findings, or the
one declared refusal, may come out).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli.main import main
from segments.age_reader import decrypt_stream
from segments.agekeys import X25519Identity
from segments.errors import UnsupportedFormatError
from segments.hashing import hash_file
from segments.ledger import LEDGER_NAME, read_checkpoints
from segments.package import (
    DECRYPTED,
    DERIVED,
    MANIFEST_NAME,
    ORIGINAL,
    PACKAGE_VERSION,
    PUBKEY_NAME,
    RECORDS_NAME,
    REPORT_JSON,
    decrypted_name,
    make_proofs,
    manifest_text,
    original_name,
)
from segments.package_check import PackageCheck, verify_package
from segments.package_signature import SIGNATURE_NAME, SIGNER_GATEWAY, SignerId
from segments.package_statement import sign_package
from segments.records import MEDIA_KINDS, Record
from segments.signing import Ed25519Signer
from segments.timeline import iso_utc
from segments.trust import TrustedKeys
from segments.verify import Verdict
from tests.segments.sealed_stream import IDENTITY, SEG_S, SIGNER, T0, Stream

STEPS = {f"P{n}" for n in range(1, 11)} | {f"S{n}" for n in range(1, 7)}
TRUSTED = TrustedKeys.single(SIGNER.verifier())


LABELS = {
    "gateway": "gw1",
    "camera": "cam1",
    "case": "case-1",
    "from": iso_utc(T0 + 1),
    "to": iso_utc(T0 + 4 * SEG_S - 1),
    "operator": "张警官",
    "created": iso_utc(T0 + 86400),
}
DERIVED_FILE = f"{DERIVED}/case-1_cam1.mp4"
NOTE = "DERIVED COPY for viewing, not an original"


def build(root: Path, data: Path, signer: Ed25519Signer = SIGNER) -> Path:
    """A package of seqs 2-5 (four segments) of a fresh stream, as the exporter lays it out,
    signed by `signer` (the stream's own key unless an attacker builds it)."""
    s = Stream(data, signer=signer)
    s.start(signer=signer)
    for _ in range(4):
        s.segment()
    s.ledger.checkpoint()
    lines = s.lines()
    checkpoint = read_checkpoints(s.root)[-1]
    (root / ORIGINAL).mkdir(parents=True)
    (root / DECRYPTED).mkdir()
    for line in lines[2:]:
        record = Record.from_json(line)
        assert record.kind in MEDIA_KINDS
        shutil.copyfile(s.file(record), root / ORIGINAL / original_name(record))
        with (
            open(s.file(record), "rb") as src,
            open(root / DECRYPTED / decrypted_name(record), "wb") as dst,
        ):
            assert decrypt_stream(src, dst, [IDENTITY]).complete
    (root / RECORDS_NAME).write_bytes(b"".join(line + b"\n" for line in lines[2:]))
    (root / PUBKEY_NAME).parent.mkdir()
    (root / PUBKEY_NAME).write_text(signer.public_key_text() + "\n")
    (root / DERIVED).mkdir()
    (root / DERIVED_FILE).write_bytes(b"a derived copy " * 100)
    report = {
        "package_version": PACKAGE_VERSION,
        **LABELS,
        "checkpoint": json.loads(checkpoint.to_json()),
        "inclusion_proofs": [asdict(p) for p in make_proofs(lines, range(2, 6), checkpoint.size)],
        "segments": [{"seq": seq} for seq in range(2, 6)],
        "derived": {"file": DERIVED_FILE, "sha256": hash_file(root / DERIVED_FILE)[1]},
    }
    write_report(root, report, signer)
    return root


def write_report(root: Path, report: Any, signer: Ed25519Signer | None = SIGNER) -> None:
    """Replace report.json, re-seal the manifest and, given a signer, re-sign the package,
    as a consistent (re-)export would."""
    (root / REPORT_JSON).write_text(json.dumps(report), encoding="utf-8")
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    (root / MANIFEST_NAME).write_text(manifest_text(root), encoding="utf-8")
    if signer is not None:
        sign_package(root, report, signer, SignerId(SIGNER_GATEWAY, "gw1"), NOTE)


def report_of(root: Path) -> dict[str, Any]:
    return dict(json.loads((root / REPORT_JSON).read_text(encoding="utf-8")))


def assert_steps_named(check: PackageCheck) -> None:
    for f in check.findings:
        assert set(f.steps) <= STEPS
        assert all(p[:4] in {f"[{s}]" for s in f.steps} for p in f.detail.split("; ") if p)
    for i in check.issues:
        assert i.step in STEPS and i.detail.startswith(f"[{i.step}] ")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("pkg")
    return build(tmp / "case-1", tmp / "data")


@pytest.fixture
def package(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "case-1"))


def test_intact_package_is_authentic(package: Path) -> None:
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.AUTHENTIC, check
    assert [f.seq for f in check.findings] == [2, 3, 4, 5]
    assert all(f.verdict == "OK" and f.steps == () for f in check.findings)
    assert check.issues == () and check.manifest_problems == ()
    assert check.labels == LABELS and check.key_source == "trusted"
    assert check.signer == "gateway gw1"


def test_without_a_trusted_key_the_verdict_is_integrity_only(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    check = verify_package(package)
    assert check.verdict is Verdict.INTEGRITY_ONLY and check.integrity is Verdict.AUTHENTIC
    assert check.key_source == "package" and check.origin == "no trusted key given"
    assert main(["verify-export", str(package)]) == 4
    out = capsys.readouterr().out
    assert "verdict: INTEGRITY_ONLY" in out and "origin NOT established" in out
    assert "--pubkey" in out and "--trust FILE" in out


def test_a_package_made_entirely_with_an_attackers_key_is_never_authentic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    attacker = Ed25519Signer(Ed25519PrivateKey.generate())
    forged = build(tmp_path / "case-1", tmp_path / "data", signer=attacker)
    assert verify_package(forged).verdict is Verdict.INTEGRITY_ONLY
    check = verify_package(forged, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert {f.verdict for f in check.findings} == {"SIG_BAD"}
    assert "P5" in [i.step for i in check.issues]
    trust_file = tmp_path / "trust.txt"
    trust_file.write_text(f"gw1 {SIGNER.public_key_text()}\n", encoding="utf-8")
    assert main(["verify-export", str(forged), "--trust", str(trust_file)]) == 1
    other_gateway = tmp_path / "other.txt"
    other_gateway.write_text(f"gw9 {SIGNER.public_key_text()}\n", encoding="utf-8")
    assert main(["verify-export", str(forged), "--trust", str(other_gateway)]) == 4
    assert "lists no key for 'gw1'" in capsys.readouterr().out


def test_the_reviewers_attack_with_a_regenerated_manifest_fails(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Overwrite the derived MP4, relabel camera and case, regenerate the manifest."""
    (package / DERIVED_FILE).write_bytes(b"another video entirely")
    report = report_of(package)
    report["camera"], report["case"] = "store-9", "OTHER"
    write_report(package, report, signer=None)
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert check.manifest_problems == ()  # the manifest itself is consistent again
    details = " | ".join(i.detail for i in check.issues)
    assert "[P5] MANIFEST.sha256 is not the signed one" in details
    assert "[P6] report.json camera is 'store-9', the signed label 'cam1'" in details
    assert "[P6] report.json case is 'OTHER', the signed label 'case-1'" in details
    assert f"[P6] {DERIVED_FILE} is not the signed derived copy" in details
    assert main(["verify-export", str(package), "--pubkey", SIGNER.public_key_text()]) == 1
    assert "verdict: NOT_AUTHENTIC" in capsys.readouterr().out


def test_a_package_re_signed_by_another_key_fails(package: Path) -> None:
    report = report_of(package)
    report["case"] = "OTHER"
    write_report(package, report, signer=Ed25519Signer(Ed25519PrivateKey.generate()))
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert any(i.step == "P5" and "does not verify" in i.detail for i in check.issues)


def test_signed_labels_that_contradict_the_records_fail(package: Path) -> None:
    """Even the device key cannot vouch for a camera or range its records do not name."""
    report = report_of(package)
    report["camera"], report["from"] = "store-9", iso_utc(T0 + 25)
    write_report(package, report)
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    details = " | ".join(i.detail for i in check.issues)
    assert "the signed records name camera ['cam1'], the signed label 'store-9'" in details
    assert "seq 2 (" in details and "lies outside the signed range" in details


def test_a_missing_signature_fails(package: Path) -> None:
    (package / SIGNATURE_NAME).unlink()
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC and check.signer is None
    assert check.issues[0].step == "P1" and "SIGNATURE.json is absent" in check.issues[0].detail


@pytest.mark.parametrize(
    "text",
    ["", "null", "[]", "{}", '{"version": "1"}', '{"version": 1}', '{"version": 0}',
     '{"version": 1, "statement": {}, "sig": "x"}', "\xff", '{"version": 1e400}'],
)  # fmt: skip
def test_a_garbled_signature_fails(package: Path, text: str) -> None:
    (package / SIGNATURE_NAME).write_text(text, encoding="utf-8", errors="surrogateescape")
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert [i.step for i in check.issues][:1] == ["P1"]


def test_a_newer_signature_version_is_refused_with_exit_2(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = json.loads((package / SIGNATURE_NAME).read_text(encoding="utf-8"))
    doc["version"] = 2
    (package / SIGNATURE_NAME).write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(UnsupportedFormatError, match=r"SIGNATURE\.json has version 2"):
        verify_package(package, TRUSTED)
    assert main(["verify-export", str(package), "--pubkey", SIGNER.public_key_text()]) == 2
    assert "please update evgw" in capsys.readouterr().err


def test_the_export_record_in_a_later_ledger_copy_is_checked(tmp_path: Path) -> None:
    root = build(tmp_path / "case-1", tmp_path / "data")
    stream = Stream(tmp_path / "data")
    manifest = hash_file(root / MANIFEST_NAME)[1]
    extra = {k: LABELS[k] for k in ("case", "operator", "from", "to")}
    draft = stream.draft("export", T0 + 86400, None)
    ledger = stream.root
    assert verify_package(root, TRUSTED, ledger=ledger).verdict is Verdict.INCOMPLETE
    stream.ledger.append(replace(draft, extra={**extra, "seqs": [9], "manifest_sha256": manifest}))
    check = verify_package(root, TRUSTED, ledger=ledger / LEDGER_NAME)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert any("logged other seqs" in i.detail for i in check.issues)
    logged = {**extra, "seqs": [2, 3, 4, 5], "manifest_sha256": manifest}
    stream.ledger.append(replace(draft, extra=logged))
    assert verify_package(root, TRUSTED, ledger=ledger).verdict is Verdict.AUTHENTIC
    stream.ledger.append(replace(draft, extra={**logged, "case": "OTHER"}))
    check = verify_package(root, TRUSTED, ledger=ledger)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert any("logged case 'OTHER'" in i.detail for i in check.issues)


@pytest.mark.parametrize("version", ["missing", None, "1", True, 0, -1, 1.5, [1]])
def test_a_missing_or_garbled_version_is_incomplete(package: Path, version: object) -> None:
    report = report_of(package)
    if version == "missing":
        del report["package_version"]
    else:
        report["package_version"] = version
    write_report(package, report)
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.INCOMPLETE
    assert [i.step for i in check.issues] == ["P1"]
    assert "package_version" in check.issues[0].detail


def test_a_newer_package_is_refused_with_both_versions(package: Path) -> None:
    write_report(package, {**report_of(package), "package_version": PACKAGE_VERSION + 1})
    with pytest.raises(UnsupportedFormatError) as caught:
        verify_package(package)
    assert f"written by a newer evgw (package_version {PACKAGE_VERSION + 1}" in str(caught.value)
    assert f"this evgw reads up to {PACKAGE_VERSION}): please update evgw" in str(caught.value)


def test_cli_names_the_newer_version_and_exits_2(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_report(package, {**report_of(package), "package_version": 99})
    assert main(["verify-export", str(package)]) == 2
    assert "package_version 99" in capsys.readouterr().err


def test_a_tampered_file_names_the_manifest_and_slice_steps(package: Path) -> None:
    target = sorted((package / ORIGINAL).glob("*.mp4.age"))[1]
    target.write_bytes(b"x" + target.read_bytes()[1:])
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert_steps_named(check)
    assert [i.step for i in check.issues] == ["P2"]
    row = next(f for f in check.findings if f.verdict == "HASH_MISMATCH")
    assert row.steps == ("S6",) and row.detail.startswith(f"[S6] {ORIGINAL}/{target.name}")
    doc = json.loads(check.to_json())
    assert doc["issues"][0]["step"] == "P2"


def test_a_hole_in_the_slice_is_a_chain_break(package: Path) -> None:
    lines = (package / RECORDS_NAME).read_bytes().splitlines()
    (package / RECORDS_NAME).write_bytes(b"".join(line + b"\n" for line in lines[:1] + lines[2:]))
    write_report(package, report_of(package))
    check = verify_package(package, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert next(f for f in check.findings if f.seq == 4).steps == ("S4",)


def test_an_unusable_package_key_is_not_authentic(package: Path) -> None:
    (package / PUBKEY_NAME).write_bytes(b"\xff\xfe")
    write_report(package, report_of(package))
    check = verify_package(package)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert "P4" in [i.step for i in check.issues]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_REPORT_KEYS = st.sampled_from(
    ["package_version", "checkpoint", "inclusion_proofs", "case", "camera", "derived", "from"]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_REPORT_KEYS, value=_JSON)
def test_a_mutated_report_gives_findings_not_exceptions(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, key: str, value: object
) -> None:
    root = Path(shutil.copytree(pristine, tmp_path_factory.mktemp("mut") / "case-1"))
    write_report(root, {**report_of(root), key: value}, signer=None)
    newer = isinstance(value, int) and not isinstance(value, bool) and value > PACKAGE_VERSION
    if key == "package_version" and newer:
        with pytest.raises(UnsupportedFormatError):
            verify_package(root, TRUSTED)
        return
    check = verify_package(root, TRUSTED)
    assert check.verdict is Verdict.NOT_AUTHENTIC  # the signed manifest no longer matches
    assert_steps_named(check)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(report=st.binary(max_size=300), records=st.binary(max_size=300))
def test_random_report_and_record_bytes_give_findings(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, report: bytes, records: bytes
) -> None:
    root = Path(shutil.copytree(pristine, tmp_path_factory.mktemp("raw") / "case-1"))
    (root / REPORT_JSON).write_bytes(report)
    (root / RECORDS_NAME).write_bytes(records)
    try:
        check = verify_package(root, TRUSTED)
    except UnsupportedFormatError:
        version = json.loads(report)["package_version"]
        assert isinstance(version, int) and version > PACKAGE_VERSION
        return
    assert check.verdict is not Verdict.AUTHENTIC
    assert_steps_named(check)


def test_re_deriving_needs_the_right_identity_and_real_video(package: Path) -> None:
    wrong = verify_package(package, TRUSTED, identities=[X25519Identity(bytes(32 * [7]))])
    assert wrong.verdict is Verdict.INCOMPLETE
    assert [i.step for i in wrong.issues] == ["P8"] and "not decrypted" in wrong.issues[0].detail
    fake = verify_package(package, TRUSTED, identities=[IDENTITY])  # payloads are not MP4s
    assert fake.verdict is Verdict.INCOMPLETE
    assert [i.step for i in fake.issues] == ["P8"]
    assert fake.issues[0].detail.startswith("[P8] cannot re-derive the copy")
