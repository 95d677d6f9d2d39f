"""The package's signed statement: what the exporter vouches for, written as `SIGNATURE.json`.

Written last, over the finished manifest: the box signs with its device key as the gateway
the records name; the central archive signs its exports with its own export key (signer
kind `archive`), in the same format.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .hashing import hash_file
from .package import MANIFEST_NAME, PACKAGE_VERSION
from .package_signature import (
    LABELS,
    REMUX_METHOD,
    SIGNATURE_NAME,
    DerivedCopy,
    PackageSignature,
    PackageStatement,
    SignerId,
)
from .signing import Signer
from .store import write_durably


def sign_package(
    root: Path, report: dict[str, Any], signer: Signer, who: SignerId, note: str
) -> PackageSignature:
    """Sign the manifest, the report's labels and the derived copy; write SIGNATURE.json."""
    derived = report["derived"]
    statement = PackageStatement(
        signer=who,
        alg=signer.alg,
        key_id=signer.key_id,
        package_version=PACKAGE_VERSION,
        manifest_sha256=hash_file(root / MANIFEST_NAME)[1],
        labels={name: report[name] for name in LABELS},
        derived=DerivedCopy(
            file=derived["file"],
            sha256=derived["sha256"],
            source_seqs=tuple(s["seq"] for s in report["segments"]),
            method=REMUX_METHOD,
            note=note,
        ),
    )
    signature = PackageSignature.sign(statement, signer)
    write_durably(root / SIGNATURE_NAME, signature.to_json())
    return signature
