"""Retrieval at headquarters against a real SeaweedFS bucket filled by the real uploader from
real sealed segments (with sound): the box's data dir is deleted before anything is found or
exported, and every package is checked with `evgw verify-export` and public keys only.

Attacks first: an overwritten segment object, another archive's key, a tampered package,
an untrusted gateway, a missing identity. Then the package itself: witnessed checkpoint,
video and audio decoded from the derived copy, find's states and holes as on the box.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import av
import numpy as np
import pytest

from central.catalogue import audit
from central.catalogue.db import Catalogue
from central.config import load_central_config
from central.retrieval.export import ArchiveExportRequest, archive_export
from central.retrieval.objects import SegmentObject, download
from central.retrieval.setup import archive_keys, archive_source
from central.retrieval.source import RetrievalError
from gateway.cli.main import main
from segments.case_range import DECLARED
from segments.checkpoint import Checkpoint
from segments.hashing import hash_file
from segments.records import Record
from segments.signing import fingerprint, generate_signing_key, load_signer
from segments.timeline import iso_utc
from testbeds.seaweedfs import SeaweedServer
from tests.central.recorded import (
    ANCHOR,
    CAMERA,
    GATEWAY,
    RATE,
    RESUMED,
    SITE,
    TONE_HZ,
    Recorded,
    archive_toml,
    record_and_upload,
    witness_checkpoint,
)
from tests.support.seaweed import raw_client, settings_for, unique_bucket
from uplink.object_keys import media_key
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration
WITNESSED_SIZE = 14  # the newest checkpoint (after the hold and the eviction), co-signed by sync


@dataclass
class Archive:
    recorded: Recorded
    config: Path
    database: str
    records: list[Record]  # the box's records, read before its data dir was deleted
    checkpoints: list[Checkpoint]  # and its checkpoints

    def segment(self, index: int) -> Record:
        return [r for r in self.records if r.kind == "segment"][index]

    @property
    def device_key(self) -> str:
        return self.recorded.signer.public_key_text()

    @property
    def export_key(self) -> str:
        return load_signer(self.config.parent / "export.ed25519").public_key_text()


def evgw(*args: object) -> int:
    return main([str(a) for a in args])


def at(ts: float) -> str:
    return iso_utc(ts)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The catalogue's URL: every retrieval test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'catalog.db'}"
    server = request.getfixturevalue("postgres")
    return str(server.create_database("retrieval").render_as_string(hide_password=False))


@pytest.fixture(scope="module")
def archive(
    seaweed: SeaweedServer, database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Archive]:
    """Record, upload, sync (which witnesses), delete the box."""
    folder = tmp_path_factory.mktemp("retrieval")
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    recorded = record_and_upload(folder / "box", store)
    config = archive_toml(folder / "hq", seaweed, recorded, database)
    # one sync: its witness step co-signs, and retrieval finds the cosignatures in the
    # catalogue before any later sync has listed them
    assert evgw("archive", "sync", "--config", config) == 0
    records, checkpoints = recorded.records(), recorded.checkpoints()
    shutil.rmtree(recorded.data_dir)  # the box is gone: stolen, burned, or far away
    yield Archive(recorded, config, database, records, checkpoints)


def export(
    archive: Archive,
    out: Path,
    start: float,
    end: float,
    case: str = "A-1",
    config: Path | None = None,
) -> int:
    return evgw(
        "archive", "export", "--config", config or archive.config, "--gateway", GATEWAY,
        "--camera", CAMERA, "--from", at(start), "--to", at(end), "--case", case,
        "--out", out, "--operator", "张警官",
    )  # fmt: skip


def verify(package: Path, archive: Archive, archive_key: str | None = None, *more: object) -> int:
    return evgw(
        "verify-export", package, "--pubkey", archive.device_key,
        "--archive-pubkey", archive_key or archive.export_key, *more,
    )  # fmt: skip


def report(package: Path) -> dict[str, Any]:
    return dict(json.loads((package / "report.json").read_text(encoding="utf-8")))


@pytest.fixture(scope="module")
def package(archive: Archive, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both runs and the outage between them: seqs 5-10, the gap declared by seq 7."""
    out = tmp_path_factory.mktemp("out")
    assert export(archive, out, ANCHOR + 3, RESUMED + 4) == 0
    return out / "A-1"


# -- attacks ------------------------------------------------------------------------------


def test_an_overwritten_segment_object_is_never_taken_for_the_segment(
    archive: Archive, seaweed: SeaweedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A new version of a segment's key (same size, other bytes) is flagged by sync, and
    retrieval keeps to the version with the signed SHA-256; pinned to the overwrite alone it
    refuses, naming the object and the checksum."""
    target = archive.segment(6)  # a 2 s segment of the second run
    key = media_key(SITE, GATEWAY, CAMERA, target.seq, target.start_ts or 0)
    bucket = archive.recorded.store.settings.bucket
    forged = os.urandom(target.size_cipher or 0)
    put = raw_client(seaweed).put_object(Bucket=bucket, Key=key, Body=forged)
    capsys.readouterr()
    assert evgw("archive", "sync", "--config", archive.config, "--audit") == 1
    assert "overwrite" in capsys.readouterr().out
    out = tmp_path / "out"
    assert export(archive, out, target.start_ts or 0, target.end_ts or 0, "over") == 0
    original = out / "over" / "original" / Path(target.file or "").name
    assert hash_file(original) == (target.size_cipher, target.sha256_cipher)
    assert verify(out / "over", archive) == 0
    config = load_central_config(archive.config)
    catalogue = Catalogue.open(config.database)
    try:
        source = archive_source(config, catalogue)
        only_the_overwrite = SegmentObject(target, key, ((put["VersionId"], len(forged)),))
        (tmp_path / "stage" / "original").mkdir(parents=True)
        with pytest.raises(RetrievalError, match=r"holds no copy with the signed size and SHA-256"):
            download(source, only_the_overwrite, tmp_path / "stage", lambda n: None)
    finally:
        catalogue.close()
    assert not any((tmp_path / "stage" / "original").iterdir())


def test_a_package_signed_by_another_archive_key_fails(
    archive: Archive, package: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = generate_signing_key(tmp_path / "other.ed25519").public_key_text()
    capsys.readouterr()
    assert verify(package, archive, other) == 1
    assert "does not verify" in capsys.readouterr().out
    assert evgw("verify-export", package, "--pubkey", archive.device_key) != 0  # unchecked


def test_a_tampered_archive_package_fails(archive: Archive, package: Path, tmp_path: Path) -> None:
    copy = Path(shutil.copytree(package, tmp_path / "A-1"))
    plain = sorted((copy / "decrypted").iterdir())[0]
    plain.write_bytes(plain.read_bytes()[:-1] + b"\0")
    assert verify(copy, archive) == 1
    copy = Path(shutil.copytree(package, tmp_path / "again"))
    (copy / "ledger" / "checkpoints.jsonl").write_text("{}\n")
    assert verify(copy, archive) == 1


def test_an_untrusted_gateway_is_refused_with_what_to_do(
    archive: Archive, seaweed: SeaweedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = archive_toml(
        tmp_path / "hq", seaweed, archive.recorded, archive.database, trusted=False
    )
    capsys.readouterr()
    assert export(archive, tmp_path / "out", ANCHOR + 3, ANCHOR + 5, config=config) == 1
    err = capsys.readouterr().err
    assert "[trust] lists no device key for gateway 'gw-rec'" in err and "hint:" in err
    assert not (tmp_path / "out" / "A-1").exists()


def test_a_missing_identity_is_named_and_nothing_is_written(
    archive: Archive, seaweed: SeaweedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = archive_toml(tmp_path / "hq", seaweed, archive.recorded, archive.database)
    (tmp_path / "hq" / "archive.agekey").unlink()
    capsys.readouterr()
    assert export(archive, tmp_path / "out", ANCHOR + 3, ANCHOR + 5, config=config) == 1
    err = capsys.readouterr().err
    assert "[archive] identity_file" in err and "escrow" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# -- the package ----------------------------------------------------------------------------


def test_export_after_the_box_is_gone_verifies_with_public_keys_only(
    archive: Archive, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not archive.recorded.data_dir.exists()
    capsys.readouterr()
    assert verify(package, archive) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("verdict: AUTHENTIC_WITH_DECLARED_GAPS"), out
    assert "signed by: archive hq" in out
    rep = report(package)
    assert rep["source"] == "central" and rep["archive"]["id"] == "hq"
    assert (
        rep["witness"]["witnessed"] is True and rep["witness"]["checkpoint_size"] == WITNESSED_SIZE
    )
    assert (package / "ledger" / f"{WITNESSED_SIZE:08d}.witnessed").is_file()
    assert [s["seq"] for s in rep["segments"]] == [5, 6, 8, 9, 10]
    assert [(g["reason"], g["seq"], g["status"]) for g in rep["gaps"]] == [
        ("camera_offline", 7, DECLARED)
    ]
    signed = {r.seq: r for r in archive.records}
    for s in rep["segments"]:
        assert hash_file(package / s["original"]) == (
            signed[s["seq"]].size_cipher,
            signed[s["seq"]].sha256_cipher,
        )


def test_the_derived_copy_plays_the_cameras_picture_and_sound(
    archive: Archive, package: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    derived = package / report(package)["derived"]["file"]
    with av.open(str(derived)) as c:
        frames = list(c.decode(video=0))
    assert len(frames) > 100
    with av.open(str(derived)) as c:
        sound = list(c.decode(audio=0))
    samples = np.concatenate([f.to_ndarray()[0] for f in sound])
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    peak = float(np.fft.rfftfreq(len(samples), 1 / RATE)[int(np.argmax(spectrum))])
    assert peak == pytest.approx(TONE_HZ, abs=5)
    times = [f.time for f in sound]
    outage = max(b - a for a, b in itertools.pairwise(times))
    assert outage > 10  # the declared gap stays silent: no sound is invented for it
    identity = archive.config.parent / "archive.agekey"
    capsys.readouterr()
    assert verify(package, archive, None, "--identity", identity) == 0  # re-derived, same bytes


def test_find_at_the_archive_names_states_and_holes_as_the_box_does(
    archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    code = evgw(
        "archive", "find", "--config", archive.config, "--gateway", GATEWAY, "--camera", CAMERA,
        "--from", at(ANCHOR), "--to", at(RESUMED + 4), "--json",
    )  # fmt: skip
    found = json.loads(capsys.readouterr().out)
    assert code == 0, found
    states = {s["seq"]: s["state"] for s in found["segments"]}
    assert states[3] == "evicted"  # the box's signed purge, after its confirmed upload
    assert states[8] == "held"  # the signed hold over the first segment after the outage
    assert {states[s] for s in (4, 5, 6, 9, 10)} == {"confirmed"}
    assert [(g["reason"], g["seq"]) for g in found["gaps"]] == [("camera_offline", 7)]
    assert found["verdict"] == "AUTHENTIC_WITH_DECLARED_GAPS"
    assert found["source"] == "central" and found["witness"]["witnessed"] is True
    code = evgw(
        "archive", "find", "--config", archive.config, "--gateway", GATEWAY, "--camera", CAMERA,
        "--from", at(ANCHOR + 3), "--to", at(RESUMED + 4),
    )  # fmt: skip
    text = capsys.readouterr().out
    assert "camera_offline (declared by record seq 7)" in text
    assert "witnessed by archive.test/witness" in text


@pytest.fixture
def shanghai_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """This process's local zone is Asia/Shanghai (+08:00, no DST) for one test."""
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_archive_find_shows_times_on_the_machines_clock_with_the_offset_and_json_keeps_utc(
    archive: Archive, capsys: pytest.CaptureFixture[str], shanghai_clock: None
) -> None:
    def find(*extra: str) -> str:
        capsys.readouterr()
        code = evgw(
            "archive", "find", "--config", archive.config, "--gateway", GATEWAY,
            "--camera", CAMERA, "--from", at(ANCHOR + 3), "--to", at(RESUMED + 4), *extra,
        )  # fmt: skip
        assert code == 0
        return capsys.readouterr().out

    found = json.loads(find("--json"))
    text = find()
    local = datetime.fromtimestamp(ANCHOR + 3, ZoneInfo("Asia/Shanghai"))
    assert f"{local:%Y-%m-%d %H:%M:%S} +08:00 .. " in text.splitlines()[0]
    first = found["segments"][0]
    assert all(when.endswith(("Z", "+00:00")) for when in (found["start"], first["start"]))
    shown = datetime.fromisoformat(first["start"]).astimezone(local.tzinfo)
    assert f"{shown:%Y-%m-%d %H:%M:%S} +08:00" in text
    witnessed = datetime.fromisoformat(found["witness"]["time"]).astimezone(local.tzinfo)
    assert f"witnessed by archive.test/witness at {witnessed:%Y-%m-%d %H:%M:%S} +08:00" in text
    assert "this machine's time zone" in text and "+00:00" not in text


def test_an_archive_without_a_witness_says_the_proof_is_not_witnessed(
    archive: Archive, seaweed: SeaweedServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = archive_toml(
        tmp_path / "hq", seaweed, archive.recorded, archive.database, witness=False
    )
    capsys.readouterr()
    assert export(archive, tmp_path / "out", ANCHOR + 3, ANCHOR + 5, config=config) == 0
    assert "NOT witnessed" in capsys.readouterr().out
    rep = report(tmp_path / "out" / "A-1")
    assert rep["witness"]["witnessed"] is False
    assert "[witness] is not set" in rep["witness"]["why"]
    assert "NOT witnessed" in (tmp_path / "out" / "A-1" / "report.txt").read_text()
    key = load_signer(tmp_path / "hq" / "export.ed25519").public_key_text()
    assert verify(tmp_path / "out" / "A-1", archive, key) == 0


def test_export_progress_counts_fetch_decrypt_and_derive_to_the_end(
    archive: Archive, tmp_path: Path
) -> None:
    config = load_central_config(archive.config)
    catalogue = Catalogue.open(config.database)
    seen: list[tuple[int, int]] = []
    try:
        request = ArchiveExportRequest(
            GATEWAY, CAMERA, utc(ANCHOR + 3), utc(RESUMED + 4), "P-1", tmp_path, "张警官"
        )
        archive_export(archive_source(config, catalogue), request, archive_keys(config),
                       lambda done, total: seen.append((done, total)))  # fmt: skip
    finally:
        catalogue.close()
    totals = {total for _, total in seen}
    assert len(totals) == 1 and seen[-1][0] == seen[-1][1]  # one total, reached at the end
    dones = [done for done, _ in seen]
    assert dones == sorted(dones) and len(dones) >= 2 * 5  # every segment fetched, decrypted


def test_a_witnessed_file_the_witness_did_not_sign_is_named_and_never_used(
    archive: Archive, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Someone with write access puts a `.witnessed` file by another key beside the newest
    checkpoint: sync names it, and the proof still rests on the archive's own cosignature."""
    newest = max(archive.checkpoints, key=lambda c: c.size)
    impostor = generate_signing_key(tmp_path / "impostor.ed25519")
    witness_checkpoint(archive.recorded, impostor, newest, int(ANCHOR) + 120)
    capsys.readouterr()
    assert evgw("archive", "sync", "--config", archive.config) == 1
    assert "foreign_witness" in capsys.readouterr().out
    assert export(archive, tmp_path / "out", ANCHOR + 3, RESUMED + 4) == 0
    witness = report(tmp_path / "out" / "A-1")["witness"]
    assert witness["witnessed"] is True and witness["checkpoint_size"] == newest.size
    assert witness["fingerprint"] == fingerprint(
        load_signer(archive.config.parent / "witness.ed25519")
    )
    assert verify(tmp_path / "out" / "A-1", archive) == 0


def test_a_camera_the_archive_never_saw_and_an_empty_range_are_told_apart(
    archive: Archive, capsys: pytest.CaptureFixture[str]
) -> None:
    def find(camera: str, start: float, end: float) -> int:
        return evgw(
            "archive", "find", "--config", archive.config, "--gateway", GATEWAY,
            "--camera", camera, "--from", at(start), "--to", at(end),
        )  # fmt: skip

    capsys.readouterr()
    assert find("cam9", ANCHOR, ANCHOR + 5) == 1
    assert "holds no records of gateway 'gw-rec', camera 'cam9'" in capsys.readouterr().err
    assert find(CAMERA, ANCHOR - 3600, ANCHOR - 1800) == 1
    assert "no recording in this range" in capsys.readouterr().out


def test_every_export_and_every_refused_one_is_in_the_audit_log(
    archive: Archive, package: Path, tmp_path: Path
) -> None:
    assert export(archive, tmp_path, ANCHOR + 3, ANCHOR + 5, case="A-audit") == 0
    refused = evgw(
        "archive", "export", "--config", archive.config, "--gateway", GATEWAY, "--camera",
        "cam9", "--from", at(ANCHOR), "--to", at(ANCHOR + 5), "--case", "A-none", "--out",
        tmp_path, "--operator", "李警官",
    )  # fmt: skip
    assert refused == 1
    catalogue = Catalogue.open(load_central_config(archive.config).database)
    try:
        logged = {e.detail["case"]: e for e in audit.entries(catalogue)}
    finally:
        catalogue.close()
    made, failed = logged["A-audit"], logged["A-none"]
    assert (made.user, made.action, made.address) == ("张警官", "export", audit.CLI)
    assert made.target.startswith(f"{GATEWAY}/{CAMERA} ") and made.detail["verdict"] in (
        "AUTHENTIC", "AUTHENTIC_WITH_DECLARED_GAPS"
    )  # fmt: skip
    assert made.detail["package"] == str(tmp_path / "A-audit")
    assert (failed.user, failed.action) == ("李警官", "export_failed")
    assert "cam9" in str(failed.detail["error"])
