"""A package the central archive signed: its export key, never a device key, vouches for it.

The records stay the gateway's (origin from its device key); SIGNATURE.json is the archive's
(`signer.kind` archive), checked only with a key trusted as that archive's export key.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.cli.main import main
from segments.package_check import verify_package
from segments.package_signature import SIGNATURE_NAME, SIGNER_ARCHIVE, SIGNER_GATEWAY, SignerId
from segments.package_statement import sign_package
from segments.signing import Ed25519Signer
from segments.trust import TrustedKeys, archive_subject, parse_trust_text
from segments.verify import Verdict
from tests.segments.sealed_stream import SIGNER
from tests.segments.test_package_check import NOTE, build, report_of

ARCHIVE = Ed25519Signer(Ed25519PrivateKey.generate())
OTHER_ARCHIVE = Ed25519Signer(Ed25519PrivateKey.generate())


def archive_signed(root: Path, signer: Ed25519Signer = ARCHIVE, kind: str = SIGNER_ARCHIVE) -> Path:
    sign_package(root, report_of(root), signer, SignerId(kind, "hq"), NOTE)
    return root


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("pkg")
    return archive_signed(build(tmp / "case-1", tmp / "data"))


@pytest.fixture
def package(pristine: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(pristine, tmp_path / "case-1"))


def trusted(archive: Ed25519Signer | None = ARCHIVE) -> TrustedKeys:
    keys = TrustedKeys.single(SIGNER.verifier())
    return (
        keys
        if archive is None
        else TrustedKeys(keys.origin, any_gateway=SIGNER.verifier(), any_archive=archive.verifier())
    )


def test_another_archives_key_does_not_verify_the_package(package: Path) -> None:
    check = verify_package(package, trusted(OTHER_ARCHIVE))
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert any(i.step == "P5" and "does not verify" in i.detail for i in check.issues)


def test_the_device_key_cannot_stand_in_for_the_archive(package: Path) -> None:
    """A box (or a thief with its key) signing as `archive` is not the archive."""
    archive_signed(package, SIGNER)
    check = verify_package(package, trusted(OTHER_ARCHIVE))
    assert check.verdict is Verdict.NOT_AUTHENTIC
    assert verify_package(package, trusted(None)).verdict is not Verdict.AUTHENTIC


def test_a_gateway_key_is_never_trusted_for_an_archive_signature(package: Path) -> None:
    """--pubkey trusts the device key for records only; without the archive's key the
    archive's signature is unchecked, so the package is not AUTHENTIC."""
    check = verify_package(package, trusted(None))
    assert check.verdict is Verdict.INCOMPLETE
    assert any("--archive-pubkey" in i.detail for i in check.issues if i.step == "P5")


def test_a_tampered_archive_package_fails(package: Path) -> None:
    report = report_of(package)
    report["operator"] = "someone else"
    (package / "report.json").write_text(json.dumps(report), encoding="utf-8")
    assert verify_package(package, trusted()).verdict is Verdict.NOT_AUTHENTIC


def test_the_archive_signature_verifies_with_its_export_key(package: Path) -> None:
    check = verify_package(package, trusted())
    assert check.verdict is Verdict.AUTHENTIC, check.issues
    assert check.signer == "archive hq"
    statement = json.loads((package / SIGNATURE_NAME).read_text())["statement"]
    assert statement["signer"] == {"kind": "archive", "id": "hq"}
    assert statement["key_id"] == ARCHIVE.key_id != SIGNER.key_id


def test_a_trust_file_names_the_archive_key(package: Path) -> None:
    def trust(archive: Ed25519Signer) -> TrustedKeys:
        text = f"gw1 {SIGNER.public_key_text()}\n"
        return parse_trust_text(f"{text}{archive_subject('hq')} {archive.public_key_text()}\n", "t")

    assert verify_package(package, trust(ARCHIVE)).verdict is Verdict.AUTHENTIC
    assert verify_package(package, trust(OTHER_ARCHIVE)).verdict is Verdict.NOT_AUTHENTIC


def test_verify_export_takes_the_archive_key_on_the_command_line(
    package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    device = ["--pubkey", SIGNER.public_key_text()]
    assert main(["verify-export", str(package), *device,
                 "--archive-pubkey", ARCHIVE.public_key_text()]) == 0  # fmt: skip
    assert capsys.readouterr().out.rstrip().endswith("verdict: AUTHENTIC")
    assert main(["verify-export", str(package), *device,
                 "--archive-pubkey", OTHER_ARCHIVE.public_key_text()]) == 1  # fmt: skip
    assert main(["verify-export", str(package), *device, "--archive-pubkey", "nonsense"]) == 2
    assert "--archive-pubkey" in capsys.readouterr().err


def test_a_box_package_still_verifies_with_an_archive_key_given(tmp_path: Path) -> None:
    box = build(tmp_path / "case-1", tmp_path / "data")
    assert verify_package(box, trusted()).verdict is Verdict.AUTHENTIC
    assert verify_package(box, trusted()).signer == f"{SIGNER_GATEWAY} gw1"
