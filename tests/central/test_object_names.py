"""Object keys read back into what they name: the uploader's own keys, and anything else."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from central.sync.object_names import (
    CHECKPOINT,
    COMPANION,
    MEDIA,
    OTHER,
    RECORD,
    gateway_of,
    parse_key,
)
from uplink.object_keys import checkpoint_key, media_key, record_key

START = 1_800_000_000.0


def test_the_uploaders_keys_read_back() -> None:
    record = parse_key(record_key("某某检查站", "gw-1", "gate-1", 12, START))
    media = parse_key(media_key("某某检查站", "gw-1", "gate-1", 12, START))
    checkpoint = parse_key(checkpoint_key("某某检查站", "gw-1", "gate-1", 40))
    assert record is not None and media is not None and checkpoint is not None
    assert (record.what, record.site, record.gateway, record.stream, record.seq) == (
        RECORD, "某某检查站", "gw-1", "gate-1", 12,
    )  # fmt: skip
    assert (media.what, media.seq) == (MEDIA, 12)
    assert (checkpoint.what, checkpoint.seq) == (CHECKPOINT, 40)


@pytest.mark.parametrize(
    ("key", "what"),
    [
        ("s/gw/cam/checkpoints/00000040.tsr", COMPANION),
        ("s/gw/cam/checkpoints/00000040.witnessed", COMPANION),
        ("s/gw/cam/checkpoints/00000040.exe", OTHER),
        ("s/gw/cam/checkpoints/40.json", OTHER),
        ("s/gw/cam/2026/11/27/00000001_20261127T140000Z.mp4", OTHER),
        ("s/gw/cam/2026/11/27/x00000001_20261127T140000Z.json", OTHER),
        ("s/gw/cam", OTHER),
        ("s/gw/notes.txt", OTHER),
    ],
)
def test_other_keys(key: str, what: str) -> None:
    name = parse_key(key)
    assert name is not None and name.what == what and name.gateway == "gw"


def test_keys_outside_any_gateway() -> None:
    assert parse_key("toplevel.txt") is None and gateway_of("s//x") is None


@given(st.text(max_size=300))
def test_any_key_parses_or_is_refused_without_error(key: str) -> None:
    name = parse_key(key)
    assert name is None or name.key == key
