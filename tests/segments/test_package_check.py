"""The package check (`evgw verify-export`): a package built from a small sealed stream.

Covers the steps P1-P6 with their ids, the package_version refusal, and fuzzed report and
record files (only findings, or the one declared refusal, may come out).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.cli.main import main
from segments.age_reader import decrypt_stream
from segments.errors import UnsupportedFormatError
from segments.ledger import read_checkpoints
from segments.package import (
    DECRYPTED,
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
from segments.records import MEDIA_KINDS, Record
from segments.verify import Verdict
from tests.segments.sealed_stream import IDENTITY, SIGNER, Stream

STEPS = {f"P{n}" for n in range(1, 7)} | {f"S{n}" for n in range(1, 7)}


def build(root: Path, data: Path) -> Path:
    """A package of seqs 2-5 (four segments) of a fresh stream, as the exporter lays it out."""
    s = Stream(data)
    s.start()
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
    (root / PUBKEY_NAME).write_text(SIGNER.public_key_text() + "\n")
    report = {
        "package_version": PACKAGE_VERSION,
        "case": "case-1",
        "camera": "cam1",
        "checkpoint": json.loads(checkpoint.to_json()),
        "inclusion_proofs": [asdict(p) for p in make_proofs(lines, range(2, 6), checkpoint.size)],
    }
    write_report(root, report)
    return root


def write_report(root: Path, report: Any) -> None:
    """Replace report.json and re-seal the manifest, as a consistent (re-)export would."""
    (root / REPORT_JSON).write_text(json.dumps(report), encoding="utf-8")
    (root / MANIFEST_NAME).unlink(missing_ok=True)
    (root / MANIFEST_NAME).write_text(manifest_text(root), encoding="utf-8")


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
    check = verify_package(package, SIGNER.verifier())
    assert check.verdict is Verdict.AUTHENTIC, check
    assert [f.seq for f in check.findings] == [2, 3, 4, 5]
    assert all(f.verdict == "OK" and f.steps == () for f in check.findings)
    assert check.issues == () and check.manifest_problems == ()
    assert check.case == "case-1" and check.key_source == "pubkey"


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


@pytest.mark.parametrize("version", ["missing", None, "1", True, 0, -1, 1.5, [1]])
def test_a_missing_or_garbled_version_is_incomplete(package: Path, version: object) -> None:
    report = report_of(package)
    if version == "missing":
        del report["package_version"]
    else:
        report["package_version"] = version
    write_report(package, report)
    check = verify_package(package, SIGNER.verifier())
    assert check.verdict is Verdict.INCOMPLETE
    assert [i.step for i in check.issues] == ["P1"]
    assert "package_version" in check.issues[0].detail


def test_a_tampered_file_names_the_manifest_and_slice_steps(package: Path) -> None:
    target = sorted((package / ORIGINAL).glob("*.mp4.age"))[1]
    target.write_bytes(b"x" + target.read_bytes()[1:])
    check = verify_package(package, SIGNER.verifier())
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
    check = verify_package(package, SIGNER.verifier())
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert next(f for f in check.findings if f.seq == 4).steps == ("S4",)


def test_without_a_key_the_package_key_proves_integrity_only(package: Path) -> None:
    assert verify_package(package).key_source == "package"
    (package / PUBKEY_NAME).write_bytes(b"\xff\xfe")
    check = verify_package(package)
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert "P4" in [i.step for i in check.issues]


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
_REPORT_KEYS = st.sampled_from(["package_version", "checkpoint", "inclusion_proofs", "case"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=_REPORT_KEYS, value=_JSON)
def test_a_mutated_report_gives_findings_not_exceptions(
    pristine: Path, tmp_path_factory: pytest.TempPathFactory, key: str, value: object
) -> None:
    root = Path(shutil.copytree(pristine, tmp_path_factory.mktemp("mut") / "case-1"))
    write_report(root, {**report_of(root), key: value})
    newer = isinstance(value, int) and not isinstance(value, bool) and value > PACKAGE_VERSION
    if key == "package_version" and newer:
        with pytest.raises(UnsupportedFormatError):
            verify_package(root, SIGNER.verifier())
        return
    check = verify_package(root, SIGNER.verifier())
    assert check.verdict in set(Verdict)
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
        check = verify_package(root, SIGNER.verifier())
    except UnsupportedFormatError:
        version = json.loads(report)["package_version"]
        assert isinstance(version, int) and version > PACKAGE_VERSION
        return
    assert check.verdict is not Verdict.AUTHENTIC
    assert_steps_named(check)
