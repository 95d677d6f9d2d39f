"""Object keys in central storage (DESIGN.md §7): the local layout under site and gateway.

    <site>/<gateway>/<camera>/<YYYY>/<MM>/<DD>/<seq:08d>_<startUTC>.mp4.age   sealed segment
    <site>/<gateway>/<camera>/<YYYY>/<MM>/<DD>/<seq:08d>_<startUTC>.json      its ledger record
    <site>/<gateway>/<camera>/checkpoints/<size:08d>.json                     signed checkpoint
    <site>/<gateway>/<camera>/checkpoints/<size:08d>.tsr                      its RFC 3161 token
    <site>/<gateway>/<camera>/checkpoints/<size:08d>.witnessed                witness cosignature

The archive writes the `.witnessed` file (`segments.witness`) beside the checkpoint it
cosigned; the gateway never writes one.

Below the camera, a key is the local name (`segments.store.DataDir`), so a media key ends
in the same path as the sealed file under `streams/<camera>/`. Keys are UTF-8 (a Chinese
site name is fine); a `/` or control character inside one part would change the layout or
break tools, so it is refused.
"""

from __future__ import annotations

import unicodedata

from segments.index_rows import CHECKPOINT, MEDIA, RECORD, TIMESTAMP, UploadItem
from segments.store import DataDir
from segments.timestamp import token_relpath
from segments.witness import WITNESSED_SUFFIX
from uplink.errors import UplinkError

MAX_KEY_BYTES = 1024  # S3's limit on a key's UTF-8 length


class ObjectKeyError(UplinkError, ValueError):
    """A name cannot be part of an object key; the message names the part and the fix."""


def check_part(value: str, what: str) -> str:
    """`value` unchanged if it can be one path part of a key; else `ObjectKeyError`."""
    if not value or value in (".", ".."):
        raise ObjectKeyError(f"{what} {value!r} cannot be part of an object key: use a name")
    if "/" in value:
        raise ObjectKeyError(
            f"{what} {value!r} contains '/', which would add a folder to the object key: "
            "rename it without '/'"
        )
    bad = [c for c in value if unicodedata.category(c) == "Cc"]
    if bad:
        raise ObjectKeyError(
            f"{what} {value!r} contains control character {bad[0]!r}: rename it without one"
        )
    return value


def media_key(site: str, gateway: str, camera: str, seq: int, start_ts: float) -> str:
    return _checked(f"{_base(site, gateway, camera)}/{DataDir.segment(seq, start_ts)}")


def record_key(site: str, gateway: str, camera: str, seq: int, start_ts: float) -> str:
    sidecar = DataDir.sidecar(DataDir.segment(seq, start_ts))
    return _checked(f"{_base(site, gateway, camera)}/{sidecar}")


def checkpoint_key(site: str, gateway: str, camera: str, size: int) -> str:
    return _checked(f"{_base(site, gateway, camera)}/checkpoints/{size:08d}.json")


def timestamp_key(site: str, gateway: str, camera: str, size: int) -> str:
    """The TSA token of checkpoint `size`, beside it (the DER TimeStampResp, public)."""
    return _checked(f"{_base(site, gateway, camera)}/{token_relpath(size)}")


def witness_key(site: str, gateway: str, camera: str, size: int) -> str:
    """Where the archive puts its witnessed copy of the checkpoint of `size`."""
    return _checked(f"{_base(site, gateway, camera)}/checkpoints/{size:08d}{WITNESSED_SUFFIX}")


def object_key(item: UploadItem, site: str, gateway: str) -> str:
    """Where `item` goes; its stream is the camera id (a checkpoint's seq is its tree size)."""
    if item.what == MEDIA:
        return media_key(site, gateway, item.stream, item.seq, item.start_ts)
    if item.what == RECORD:
        return record_key(site, gateway, item.stream, item.seq, item.start_ts)
    if item.what == CHECKPOINT:
        return checkpoint_key(site, gateway, item.stream, item.seq)
    if item.what == TIMESTAMP:
        return timestamp_key(site, gateway, item.stream, item.seq)
    raise ObjectKeyError(f"upload item {item.id} is a {item.what!r}, which has no object key")


def _base(site: str, gateway: str, camera: str) -> str:
    return "/".join(
        (check_part(site, "site"), check_part(gateway, "gateway"), check_part(camera, "camera"))
    )


def _checked(key: str) -> str:
    size = len(key.encode("utf-8"))
    if size > MAX_KEY_BYTES:
        raise ObjectKeyError(
            f"object key {key!r} is {size} bytes of UTF-8, over S3's {MAX_KEY_BYTES}: "
            "shorten the site, gateway or camera name"
        )
    return key
