"""The archive as witness, through the real `evgw archive sync` on a real SeaweedFS bucket:
the attacks first (forks, rollbacks and planted cosignatures never pass as the archive's
own), then the round trip read back from the bucket, idempotence and a stopped run."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.engine import URL

from central.catalogue.db import Catalogue
from central.catalogue.schema import witnessed
from central.config import load_central_config
from gateway.cli.main import main
from segments.checkpoint import Checkpoint
from segments.merkle import leaf_hash, root_from_leaf_hashes
from segments.signing import generate_signing_key
from segments.timeline import iso_utc
from segments.witness import check_witnessed, cosign
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import T0
from tests.central.witness_rig import NAME, WitnessRig, make_rig
from tests.support.seaweed import raw_client, settings_for, unique_bucket
from uplink.objectstore import ObjectStore

pytestmark = pytest.mark.integration


@pytest.fixture
def rig(
    tmp_path: Path, seaweed: SeaweedServer, catalogue_url: URL, capsys: pytest.CaptureFixture[str]
) -> Iterator[WitnessRig]:
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    url = catalogue_url.render_as_string(hide_password=False)
    made = make_rig(tmp_path, seaweed, store, url, capsys)
    yield made
    made.box.close()


def kinds(summary: dict[str, Any]) -> list[tuple[str, int]]:
    return sorted((f["kind"], f["seq"]) for f in summary["findings"])


# -- attacks ------------------------------------------------------------------------------


def test_a_rollback_signed_with_the_device_key_is_never_cosigned(rig: WitnessRig) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    code, first = rig.sync()
    assert code == 0 and first["witness"]["witnessed"] == 2
    # Whoever holds the box signs a later head of size 2: consistent with the records, but
    # signed after the size-8 one, so the history was cut back.
    cut = Checkpoint("cam1", "gw-1", 2, _root_of(rig, 2), iso_utc(T0 + 10**6))
    cut = cut.signed_by(rig.box.signer)
    rig.put(rig.checkpoint_key(2), cut.to_json())
    code, second = rig.sync("--audit")  # below the newest checkpoint: the audit lists it
    assert code == 1 and ("rollback", 2) in kinds(second)
    assert second["witness"]["witnessed"] == 0
    assert [r for r in second["witness"]["refused"] if "size 2: a rollback" in r]
    assert rig.witness_key(2) not in rig.witnessed_keys()


def test_a_fork_arriving_with_its_twin_is_never_cosigned(rig: WitnessRig) -> None:
    rig.box.record(4)
    rig.box.upload(rig.store)
    # Before the archive ever saw size 4, a second head of size 4 with another root.
    fork = Checkpoint("cam1", "gw-1", 4, "11" * 32, iso_utc(T0 + 100)).signed_by(rig.box.signer)
    rig.put(rig.checkpoint_key(4), fork.to_json())
    code, summary = rig.sync()
    assert code == 1 and ("fork", 4) in kinds(summary)
    assert summary["witness"]["witnessed"] == 0
    assert [r for r in summary["witness"]["refused"] if "size 4: a fork" in r]
    assert rig.witnessed_keys() == []


def test_a_planted_cosignature_is_a_finding(rig: WitnessRig) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    assert rig.sync()[1]["witness"]["witnessed"] == 2
    # Someone with write access plants cosignatures: by another witness key over a real
    # checkpoint, garbage, and the archive's own cosignature of size 4 at size 8's key.
    other = generate_signing_key(rig.folder / "other.ed25519")
    cp8 = Checkpoint.from_json(rig.get(rig.checkpoint_key(8)))
    rig.put(rig.witness_key(8), cosign(cp8, NAME, other, 1).to_bytes())
    rig.box.record(4)
    rig.box.upload(rig.store)
    rig.put(rig.witness_key(12), b"\x00garbage")
    code, summary = rig.sync()
    assert code == 1
    foreign = [(f["kind"], f["seq"]) for f in summary["findings"] if f["kind"] == "foreign_witness"]
    assert foreign == [("foreign_witness", 8), ("foreign_witness", 12)]
    # Size 12 was consistent: the archive still co-signs it, as a second version beside the
    # planted one (reported as an overwrite of a key written once on the next run).
    assert summary["witness"]["witnessed"] == 1
    ours = [r for r in rig.witnessed_rows() if r.size == 12]
    assert check_witnessed(ours[0].body, rig.box.signer.verifier(), rig.witness.verifier(), NAME)


def test_without_a_witness_key_no_cosignature_is_the_archives(rig: WitnessRig) -> None:
    rig.box.record(4)
    rig.box.upload(rig.store)
    assert rig.sync()[1]["witness"]["witnessed"] == 1
    # The same bucket read by an archive configured without [witness]: nothing is its own.
    text = rig.config.read_text().split("[witness]")[0]
    text = re.sub(r'(?m)^url = ".*"$', f'url = "sqlite:///{rig.folder}/bare.db"', text)
    bare = rig.folder / "bare.toml"
    bare.write_text(text)
    rig.capsys.readouterr()
    assert main(["archive", "sync", "--config", str(bare)]) == 1
    out = rig.capsys.readouterr().out
    assert "foreign_witness" in out and "witness: not configured" in out


# -- the round trip ------------------------------------------------------------------------


def test_cosignatures_read_back_from_the_bucket_verify_then_a_rerun_does_nothing(
    rig: WitnessRig,
) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    code, summary = rig.sync()
    assert code == 0 and summary["findings"] == []
    assert summary["witness"] == {"witnessed": 2, "resumed": 0, "already": 0, "refused": []}
    assert rig.witnessed_keys() == [rig.witness_key(4), rig.witness_key(8)]
    rows = {r.size: r for r in rig.witnessed_rows()}
    for size in (4, 8):
        (version,) = rig.versions(rig.witness_key(size))
        data = rig.get(rig.witness_key(size), version["VersionId"])
        cp = check_witnessed(data, rig.box.signer.verifier(), rig.witness.verifier(), NAME)
        assert cp.to_json() == rig.get(rig.checkpoint_key(size))
        assert rows[size].version_id == version["VersionId"] and rows[size].body == data
        head = raw_client(rig.seaweed).head_object(
            Bucket=rig.bucket, Key=rig.witness_key(size), VersionId=version["VersionId"]
        )
        assert head["ObjectLockMode"] == "COMPLIANCE"
    # A re-run: its own objects are known companions, nothing re-signed or re-written.
    # The listing resumes at the newest checkpoint, so it catalogues the cosignature beside it;
    # the audit the one beside size 4.
    code, again = rig.sync()
    assert code == 0 and again["findings"] == []
    assert again["witness"]["witnessed"] == 0 and again["counts"]["new_versions"] == 1
    code, audit = rig.sync("--audit")
    assert code == 0 and audit["findings"] == [] and audit["counts"]["new_versions"] == 1
    code, third = rig.sync("--audit")
    assert third["counts"]["new_versions"] == 0
    assert [len(rig.versions(rig.witness_key(s))) for s in (4, 8)] == [1, 1]
    # A new minute: only its checkpoint is co-signed.
    rig.box.record(4)
    rig.box.upload(rig.store)
    code, later = rig.sync()
    assert code == 0 and later["witness"]["witnessed"] == 1
    code, text = rig.sync_text()
    assert "witness: co-signed 0 checkpoints and wrote them" in text and "findings: none" in text


def test_a_rebuilt_catalogue_adopts_the_archives_own_cosignatures(rig: WitnessRig) -> None:
    rig.box.record(8)
    rig.box.upload(rig.store)
    rig.sync()
    before = {r.object_key: r.body for r in rig.witnessed_rows()}
    # The catalogue is lost and rebuilt from the bucket with the same witness key.
    text = re.sub(r'(?m)^url = ".*"$', f'url = "sqlite:///{rig.folder}/rebuilt.db"',
                  rig.config.read_text())  # fmt: skip
    rig.config.write_text(text)
    code, summary = rig.sync()
    assert code == 0 and summary["findings"] == []
    assert summary["witness"]["witnessed"] == 0 and summary["witness"]["already"] == 2
    rows = rig.witnessed_rows()
    assert {r.object_key: r.body for r in rows} == before and all(r.adopted for r in rows)
    assert [len(rig.versions(k)) for k in sorted(before)] == [1, 1]


def test_a_run_stopped_between_put_and_commit_makes_no_second_cosignature(
    rig: WitnessRig,
) -> None:
    rig.box.record(4)
    rig.box.upload(rig.store)
    rig.sync()
    (row,) = rig.witnessed_rows()
    # As if the run stopped after the put, before committing its version.
    _forget_versions(rig)
    code, summary = rig.sync()
    assert code == 0 and summary["findings"] == []
    assert summary["witness"]["resumed"] == 1 and summary["witness"]["witnessed"] == 0
    (after,) = rig.witnessed_rows()
    assert after.body == row.body and after.version_id == row.version_id
    assert len(rig.versions(rig.witness_key(4))) == 1


def test_a_run_stopped_before_the_put_writes_the_same_bytes(
    tmp_path: Path, seaweed: SeaweedServer, capsys: pytest.CaptureFixture[str]
) -> None:
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=False)
    made = make_rig(tmp_path, seaweed, store, f"sqlite:///{tmp_path}/c.db", capsys)
    made.box.record(4)
    made.box.upload(store)
    made.sync()
    (row,) = made.witnessed_rows()
    # As if the run stopped after signing, before the put: the object is not there.
    raw_client(seaweed).delete_object(Bucket=made.bucket, Key=made.witness_key(4))
    _forget_versions(made)
    code, summary = made.sync()
    assert code == 0 and summary["witness"]["resumed"] == 1
    assert made.get(made.witness_key(4)) == row.body
    made.box.close()


def _forget_versions(rig: WitnessRig) -> None:
    catalogue = Catalogue.open(load_central_config(rig.config).database)
    with catalogue.transaction() as tx:
        tx.c.execute(update(witnessed).values(version_id="", witnessed_at=None))
    catalogue.close()


def _root_of(rig: WitnessRig, size: int) -> str:
    leaves = [leaf_hash(r.to_json()) for r in rig.box.records[:size]]
    return root_from_leaf_hashes(leaves).hex()


# -- keys -----------------------------------------------------------------------------------


def test_a_missing_or_readable_witness_key_is_a_config_error(rig: WitnessRig) -> None:
    key = rig.folder / "keys" / "witness.ed25519"
    os.chmod(key, 0o644)
    rig.capsys.readouterr()
    code = main(["archive", "sync", "--config", str(rig.config)])
    err = rig.capsys.readouterr().err
    assert code == 2 and "witness.signing_key" in err and "chmod 600" in err
    key.unlink()
    code = main(["archive", "sync", "--config", str(rig.config)])
    err = rig.capsys.readouterr().err
    assert code == 2 and "witness.signing_key" in err and "evgw archive keygen --witness" in err


def test_keygen_makes_private_witness_and_export_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["archive", "keygen", "--witness", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    key = tmp_path / "witness.ed25519"
    assert os.stat(key).st_mode & 0o777 == 0o600
    public = (tmp_path / "witness.ed25519.pub").read_text().strip()
    assert public.startswith("ed25519:") and f"witness public key: {public}" in out
    assert main(["archive", "keygen", "--export", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "export.ed25519").exists()
    capsys.readouterr()
    assert main(["archive", "keygen", "--witness", "--out", str(tmp_path)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
