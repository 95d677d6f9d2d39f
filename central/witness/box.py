"""Verify a box's data dir against the newest checkpoints this archive co-signed.

The headquarters form of `evgw verify DATA_DIR --witnessed FILE --witness-key PUB` (steps
W1-W4 and the rest of `segments.verify`): the witnessed files are the catalogue's newest
confirmed cosignature per stream of the box's gateway, read from the bucket at their
catalogued version; the device key comes from [trust], the witness key is the public half
of [witness] signing_key, TSA anchors from [tsa] ca_file. (It is an `evgw archive`
command, not `evgw verify --central`, because the gateway's command line never imports
`central`.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evgw.errors import UsageError
from evgw.i18n import _
from evgw.progress import Progress
from segments.errors import SegmentError
from segments.ledger import LEDGER_NAME
from segments.records import Record
from segments.verify import DirMediaSource, Report, WitnessInput, verify
from segments.verify.paths import find_streams
from segments.witness import MAX_WITNESSED_BYTES

from ..catalogue.companions import newest_witnessed
from ..catalogue.db import Catalogue
from ..config import CentralConfig
from ..sync.bucket import Bucket
from .keys import WitnessKey, tsa_anchors


@dataclass(frozen=True)
class BoxCheck:
    gateway: str
    witnessed: tuple[str, ...]  # object keys of the cosignatures the box was held to
    report: Report


def verify_box(
    config: CentralConfig,
    key: WitnessKey,
    catalogue: Catalogue,
    bucket: Bucket,
    data_dir: Path,
    *,
    camera: str | None = None,
    gateway: str | None = None,
    progress: Progress | None = None,
) -> BoxCheck:
    streams = find_streams(data_dir, camera)
    gateway = gateway or ledger_gateway(streams)
    with catalogue.transaction() as tx:
        rows = [r for r in newest_witnessed(tx, gateway) if camera in (None, r.stream)]
    if not rows:
        raise UsageError(
            (
                _(
                    "the catalogue {where} holds no checkpoint of gateway {gateway!r} camera "
                    "{camera!r} co-signed by this archive"
                )
                if camera
                else _(
                    "the catalogue {where} holds no checkpoint of gateway {gateway!r} co-signed "
                    "by this archive"
                )
            ).format(where=catalogue.where, gateway=gateway, camera=camera),
            hint=_("run `evgw archive sync --config …` once the box's uploads are in the bucket"),
        )
    files = tuple(
        (f"{config.store.bucket}/{row.object_key}",
         bucket.read(row.object_key, row.version_id, MAX_WITNESSED_BYTES) or b"")
        for row in rows
    )  # fmt: skip
    witness = WitnessInput(files, key.signer.verifier(), key.name)
    report = verify(
        [(name, DirMediaSource(folder)) for name, folder in streams],
        trust=config.trust,
        progress=progress,
        witness=witness,
        tsa_anchors=tsa_anchors(config),
    )
    return BoxCheck(gateway, tuple(row.object_key for row in rows), report)


def ledger_gateway(streams: Sequence[tuple[str, Path]]) -> str:
    """The gateway the box's ledger names (its first record), to find its cosignatures."""
    for _name, folder in streams:
        try:
            with (folder / LEDGER_NAME).open("rb") as f:
                first = f.readline(1 << 20)
            return Record.from_json(first.rstrip(b"\n")).gateway
        except (OSError, SegmentError, ValueError):
            continue
    raise UsageError(
        _("no ledger of the box names its gateway"),
        hint=_("pass --gateway with the box's gateway id"),
    )
