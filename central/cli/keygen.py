"""`evgw archive keygen --out DIR --witness|--export`: the archive's own Ed25519 keys.

The witness key co-signs checkpoints ([witness] signing_key), the export key signs packages
exported at headquarters ([export] signing_key). Each is written 0600 beside its public key
(`<name>.pub`), which is printed as `ed25519:…` for boxes, experts and `evgw verify`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from evgw.errors import UsageError
from evgw.i18n import _
from segments.signing import KeyFileError, generate_signing_key

FILES = {"witness": "witness.ed25519", "export": "export.ed25519"}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help=_("folder for the new key files"))
    role = p.add_mutually_exclusive_group(required=True)
    role.add_argument(
        "--witness", action="store_true", help=_("the witness key: [witness] signing_key")
    )
    role.add_argument(
        "--export", action="store_true", help=_("the export key: [export] signing_key")
    )


def run(args: argparse.Namespace) -> int:
    role = "witness" if args.witness else "export"
    path = args.out / FILES[role]
    try:
        signer = generate_signing_key(path)
    except KeyFileError as e:
        raise UsageError(str(e), hint=_("choose another --out folder or move the old key")) from e
    public = signer.public_key_text()
    path.with_name(path.name + ".pub").write_text(public + "\n", encoding="utf-8")
    print(_lines(role, path, public))
    return 0


def _lines(role: str, path: Path, public: str) -> str:
    if role == "witness":
        lines = [
            _("witness signing key: {path} (mode 0600; keep it at headquarters)"),
            _("witness public key: {public}"),
            _("verify a box against it: evgw verify DATA_DIR --witness-key {public} --witnessed …"),
        ]
    else:
        lines = [
            _("export signing key: {path} (mode 0600; keep it at headquarters)"),
            _("export public key: {public}"),
            _("court experts trust it as archive:<[archive] id> (`evgw verify-export`)"),
        ]
    return "\n".join(line.format(path=path, public=public) for line in lines)
