"""ObjectStore against a real SeaweedFS: checksums, multipart, retention, failures, bandwidth."""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from testbeds.seaweedfs import SeaweedServer
from tests.support.seaweed import (
    SECRET_KEY,
    random_file,
    raw_client,
    settings_for,
    unique_bucket,
)
from uplink.checksums import composite_checksum, hash_parts, same_checksum
from uplink.errors import AuthError, LocalHashMismatch, StoreUnavailable, UploadMismatch
from uplink.objectstore import ObjectStore
from uplink.settings import MiB, ObjectStoreSettings
from uplink.throttle import TokenBucket

pytestmark = pytest.mark.integration


def b64_sha256(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def small_parts(store: ObjectStore) -> ObjectStore:
    """Same bucket, multipart from 5 MiB so tests stay small."""
    s = store.settings
    return ObjectStore(
        ObjectStoreSettings(**{**s.__dict__, "multipart_threshold": 5 * MiB, "part_size": 5 * MiB})
    )


# -- pure helpers ------------------------------------------------------------------------


def test_composite_checksum_matches_aws_definition() -> None:
    parts = [b"a" * 10, b"b" * 7]
    digests = [hashlib.sha256(p).digest() for p in parts]
    expected = base64.b64encode(hashlib.sha256(b"".join(digests)).digest()).decode() + "-2"
    assert composite_checksum(digests) == expected
    assert same_checksum(expected, expected)
    assert same_checksum(expected.split("-")[0], expected)
    assert not same_checksum(b64_sha256(b"x"), expected)


def test_hash_parts_splits_at_part_size(tmp_path: Path) -> None:
    data = bytes(range(256)) * 100
    path = tmp_path / "f"
    path.write_bytes(data)
    whole, digests = hash_parts(path, 10_000)
    assert whole == hashlib.sha256(data).hexdigest()
    assert digests == [hashlib.sha256(data[i : i + 10_000]).digest() for i in (0, 10_000, 20_000)]


def test_token_bucket_enforces_rate_with_fake_clock() -> None:
    now = [0.0]

    def sleep(s: float) -> None:
        now[0] += s

    bucket = TokenBucket(1000, burst=100, clock=lambda: now[0], sleep=sleep)
    for _ in range(50):
        bucket.take(100)
    assert now[0] == pytest.approx(5.0)


# -- uploads and confirmation ------------------------------------------------------------


def test_small_file_round_trip(object_store: ObjectStore, tmp_path: Path) -> None:
    path = tmp_path / "seg.mp4.age"
    digest = random_file(path, 300_000)
    result = object_store.put_file("site/gw/cam1/2026/01/02/000001.mp4.age", path, digest)
    assert result.store_checksum == base64.b64encode(bytes.fromhex(digest)).decode()
    assert (result.parts, result.confirmed_by, result.size) == (1, "response", 300_000)
    assert result.version_id
    back = tmp_path / "back"
    assert object_store.get_to_file(result.key, back) == digest
    assert back.read_bytes() == path.read_bytes()
    info = object_store.head(result.key)
    assert (
        info is not None and info.size == 300_000 and info.checksum_sha256 == result.store_checksum
    )
    assert object_store.exists(result.key)
    assert not object_store.exists("site/gw/cam1/missing")
    assert object_store.head("site/gw/cam1/missing") is None


def test_multipart_round_trip_with_composite_checksum(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    store = small_parts(object_store)
    path = tmp_path / "big.age"
    digest = random_file(path, 11 * MiB + 123)
    result = store.put_file("big/obj.age", path, digest)
    _, digests = hash_parts(path, 5 * MiB)
    assert result.parts == 3
    assert result.store_checksum == composite_checksum(digests)
    back = tmp_path / "back"
    assert store.get_to_file("big/obj.age", back) == digest
    assert back.read_bytes() == path.read_bytes()


def test_put_bytes(object_store: ObjectStore, tmp_path: Path) -> None:
    data = b'{"kind":"checkpoint","size":3}\n'
    result = object_store.put_bytes("gw/checkpoints/3.json", data)
    assert result.store_checksum == b64_sha256(data)
    assert object_store.get_to_file("gw/checkpoints/3.json", tmp_path / "c") == result.sha256_hex


def test_corrupted_small_file_is_refused_by_store(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    path = tmp_path / "seg"
    digest = random_file(path, 50_000)
    path.write_bytes(b"tampered" + path.read_bytes()[8:])
    with pytest.raises(LocalHashMismatch, match="changed after sealing"):
        object_store.put_file("tamper/small", path, digest)
    assert not object_store.exists("tamper/small")


def test_corrupted_multipart_file_is_refused_before_upload(
    object_store: ObjectStore, tmp_path: Path
) -> None:
    store = small_parts(object_store)
    path = tmp_path / "big"
    digest = random_file(path, 6 * MiB)
    with path.open("r+b") as f:
        f.seek(5 * MiB + 10)
        f.write(b"X")
    with pytest.raises(LocalHashMismatch):
        store.put_file("tamper/big", path, digest)
    assert not store.exists("tamper/big")


def _patch_answer(
    monkeypatch: pytest.MonkeyPatch, store: ObjectStore, name: str, change: Callable[[dict], None]
) -> None:
    real = getattr(store._s3, name)

    def call(**kwargs: Any) -> dict:
        answer = dict(real(**kwargs))
        change(answer)
        return answer

    monkeypatch.setattr(store._s3, name, call)


def test_wrong_checksum_answer_is_not_confirmed(
    object_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "seg"
    digest = random_file(path, 1000)
    _patch_answer(
        monkeypatch, object_store, "put_object", lambda a: a.update(ChecksumSHA256=b64_sha256(b""))
    )
    with pytest.raises(UploadMismatch, match="not confirmed") as err:
        object_store.put_file("mismatch/obj", path, digest)
    assert not isinstance(err.value, LocalHashMismatch)


def test_missing_checksum_answer_falls_back_to_head_then_readback(
    object_store: ObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "seg"
    digest = random_file(path, 1000)
    _patch_answer(monkeypatch, object_store, "put_object", lambda a: a.pop("ChecksumSHA256"))
    assert object_store.put_file("fallback/a", path, digest).confirmed_by == "head"
    _patch_answer(monkeypatch, object_store, "head_object", lambda a: a.pop("ChecksumSHA256"))
    result = object_store.put_file("fallback/b", path, digest)
    assert result.confirmed_by == "readback"
    assert result.store_checksum == base64.b64encode(bytes.fromhex(digest)).decode()


# -- retention ---------------------------------------------------------------------------


def test_compliance_retention_blocks_delete_and_overwrite(
    object_store: ObjectStore, seaweed: SeaweedServer, tmp_path: Path
) -> None:
    """What SeaweedFS enforces, tried with the gateway's own credentials (the store admin)."""
    assert object_store.lock_status()
    path = tmp_path / "seg"
    digest = random_file(path, 10_000)
    until = datetime.now(UTC) + timedelta(days=1)
    result = object_store.put_file("locked/seg", path, digest, retain_until=until)
    assert result.retain_until == until
    info = object_store.head("locked/seg")
    assert info is not None and info.lock_mode == "COMPLIANCE"
    assert info.retain_until is not None and abs(info.retain_until - until) < timedelta(seconds=1)

    s3, bucket, vid = raw_client(seaweed), object_store.settings.bucket, result.version_id

    def denied(call: Callable[[], object]) -> None:
        with pytest.raises(ClientError) as err:
            call()
        assert err.value.response["Error"]["Code"] == "AccessDenied"

    # Deleting the locked version, even asking for a governance bypass, is refused.
    denied(lambda: s3.delete_object(Bucket=bucket, Key="locked/seg", VersionId=vid))
    denied(
        lambda: s3.delete_object(
            Bucket=bucket, Key="locked/seg", VersionId=vid, BypassGovernanceRetention=True
        )
    )
    batch = s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": "locked/seg", "VersionId": vid}]}
    )
    assert [e["Code"] for e in batch["Errors"]] == ["AccessDenied"]
    # Shortening the retention or weakening it to GOVERNANCE is refused.
    for mode, end in (("COMPLIANCE", until - timedelta(hours=1)), ("GOVERNANCE", until)):
        denied(
            lambda mode=mode, end=end: s3.put_object_retention(
                Bucket=bucket,
                Key="locked/seg",
                VersionId=vid,
                Retention={"Mode": mode, "RetainUntilDate": end},
            )
        )
    # Versioning cannot be suspended on an object-lock bucket.
    with pytest.raises(ClientError):
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    # "Overwrite" and plain delete only add a new version / delete marker (as on AWS):
    # the retained version stays byte-identical and locked.
    s3.put_object(Bucket=bucket, Key="locked/seg", Body=b"forged")
    s3.delete_object(Bucket=bucket, Key="locked/seg")
    assert not object_store.exists("locked/seg")
    assert object_store.get_to_file("locked/seg", tmp_path / "back", version_id=vid) == digest
    still = object_store.head("locked/seg", version_id=vid)
    assert still is not None and still.lock_mode == "COMPLIANCE"


def test_bucket_without_lock_uploads_without_retention(
    seaweed: SeaweedServer, tmp_path: Path
) -> None:
    store = ObjectStore(settings_for(seaweed, unique_bucket("nolock")))
    store.ensure_bucket(object_lock=False)
    assert store.lock_status() is False
    path = tmp_path / "seg"
    digest = random_file(path, 1000)
    result = store.put_file("a/b", path, digest, retain_until=datetime.now(UTC) + timedelta(days=1))
    assert result.retain_until is None
    info = store.head("a/b")
    assert info is not None and info.lock_mode is None


# -- failures ------------------------------------------------------------------------------


def test_wrong_credentials_raise_auth_error(seaweed: SeaweedServer, tmp_path: Path) -> None:
    bucket = unique_bucket()
    ObjectStore(settings_for(seaweed, bucket)).ensure_bucket()
    path = tmp_path / "seg"
    digest = random_file(path, 1000)
    for overrides in ({"secret_key": "wrong-secret-value"}, {"access_key": "nobody"}):
        store = ObjectStore(
            settings_for(seaweed, bucket, credentials_source="/etc/evgw/s3.key", **overrides)
        )
        with pytest.raises(AuthError, match=r"check /etc/evgw/s3\.key") as err:
            store.put_file("x", path, digest)
        assert SECRET_KEY not in str(err.value) and "wrong-secret-value" not in str(err.value)
        with pytest.raises(AuthError):
            store.lock_status()


def test_store_down_fails_fast_then_recovers_with_data(
    seaweed_factory: Callable[[], SeaweedServer], tmp_path: Path
) -> None:
    server = seaweed_factory()
    store = ObjectStore(settings_for(server, "evidence"))
    store.ensure_bucket()
    path = tmp_path / "seg"
    digest = random_file(path, 20_000)
    store.put_file("before/seg", path, digest)

    server.stop()
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="will retry"):
        store.put_file("during/seg", path, digest)
    with pytest.raises(StoreUnavailable):
        store.exists("before/seg")
    assert time.monotonic() - started < 5

    server.start()
    assert store.get_to_file("before/seg", tmp_path / "back") == digest
    assert store.put_file("after/seg", path, digest).confirmed_by == "response"
    assert store.lock_status()


def test_bandwidth_cap_limits_throughput(object_store: ObjectStore, tmp_path: Path) -> None:
    capped = ObjectStore(
        ObjectStoreSettings(**{**object_store.settings.__dict__, "max_bytes_per_second": 1_000_000})
    )
    path = tmp_path / "seg"
    digest = random_file(path, 2_000_000)
    started = time.monotonic()
    capped.put_file("capped/seg", path, digest)
    elapsed = time.monotonic() - started
    assert 1.8 <= elapsed < 4.0
