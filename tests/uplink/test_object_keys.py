"""Object keys: the local layout under site/gateway, UTC dates, refused names."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from segments.index_rows import CHECKPOINT, MEDIA, RECORD, TIMESTAMP, UploadItem
from segments.store import StreamStore
from uplink.object_keys import (
    ObjectKeyError,
    check_part,
    checkpoint_key,
    media_key,
    object_key,
    record_key,
    timestamp_key,
    witness_key,
)

SITE = "某某检查站"
# 2026-11-27 23:59:59.5 UTC: already the 28th in Shanghai, still the 27th in UTC.
START = datetime(2026, 11, 27, 23, 59, 59, 500000, tzinfo=UTC).timestamp()


def item(what: str, seq: int = 42, stream: str = "cam1") -> UploadItem:
    return UploadItem(
        id=1,
        stream=stream,
        seq=seq,
        what=what,
        start_ts=START,
        name="",
        path=None,
        data=None,
        size=0,
        sha256="",
        attempts=0,
    )


def test_media_key_is_the_local_path_under_site_gateway_camera(tmp_path: Path) -> None:
    local = StreamStore(tmp_path, "cam1")
    relative = local.relative(local.final_path(42, START))
    assert media_key(SITE, "gw1", "cam1", 42, START) == f"{SITE}/gw1/cam1/{relative}"
    assert relative == "2026/11/27/00000042_20261127T235959Z.mp4.age"


def test_record_sits_beside_its_segment_and_checkpoints_in_their_folder() -> None:
    assert record_key(SITE, "gw1", "cam1", 42, START) == (
        f"{SITE}/gw1/cam1/2026/11/27/00000042_20261127T235959Z.json"
    )
    assert checkpoint_key(SITE, "gw1", "cam1", 120) == f"{SITE}/gw1/cam1/checkpoints/00000120.json"
    assert timestamp_key(SITE, "gw1", "cam1", 120) == f"{SITE}/gw1/cam1/checkpoints/00000120.tsr"
    assert witness_key(SITE, "gw1", "cam1", 120) == (
        f"{SITE}/gw1/cam1/checkpoints/00000120.witnessed"
    )


def test_object_key_by_kind_of_item() -> None:
    assert object_key(item(MEDIA), SITE, "gw1").endswith("/00000042_20261127T235959Z.mp4.age")
    assert object_key(item(RECORD), SITE, "gw1").endswith("/00000042_20261127T235959Z.json")
    assert object_key(item(CHECKPOINT, seq=7), SITE, "gw1") == (
        f"{SITE}/gw1/cam1/checkpoints/00000007.json"
    )
    assert object_key(item(TIMESTAMP, seq=7), SITE, "gw1") == (
        f"{SITE}/gw1/cam1/checkpoints/00000007.tsr"
    )
    with pytest.raises(ObjectKeyError, match="no object key"):
        object_key(item("thumbnail"), SITE, "gw1")


@pytest.mark.parametrize(
    ("site", "gateway", "camera", "message"),
    [
        ("a/b", "gw1", "cam1", "site 'a/b' contains '/'"),
        (SITE, "gw\n1", "cam1", "gateway .* control character"),
        (SITE, "gw1", "cam\x7f", "camera .* control character"),
        (SITE, "gw1", "..", "cannot be part"),
        ("", "gw1", "cam1", "cannot be part"),
    ],
)
def test_bad_parts_are_refused_with_the_part_named(
    site: str, gateway: str, camera: str, message: str
) -> None:
    with pytest.raises(ObjectKeyError, match=message):
        media_key(site, gateway, camera, 1, START)


def test_key_longer_than_s3_allows_is_refused() -> None:
    with pytest.raises(ObjectKeyError, match="over S3's 1024"):
        checkpoint_key("站" * 400, "gw1", "cam1", 1)


@given(st.text(min_size=1, max_size=40))
def test_check_part_accepts_exactly_the_names_without_slash_or_control(value: str) -> None:
    bad = (
        "/" in value
        or value in (".", "..")
        or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in value)
    )
    if bad:
        with pytest.raises(ObjectKeyError):
            check_part(value, "camera")
    else:
        assert check_part(value, "camera") == value
