"""`evgw keygen`: the device signing key, an operator's command key, or an archive identity."""

from __future__ import annotations

import argparse
from pathlib import Path

from evgw.errors import UsageError
from evgw.i18n import _

from ..keys import make_archive_identity, make_device_key, make_operator_key


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help=_("folder for the new key files"))
    role = p.add_mutually_exclusive_group()
    role.add_argument(
        "--operator",
        action="store_true",
        help=_(
            "make an operator key that signs MQTT commands (`evgw command`); keep it on the "
            "operator's machine and list its public key in each gateway's [commands] operators"
        ),
    )
    role.add_argument(
        "--archive",
        action="store_true",
        help=_("make an age identity for the central archive (never install it on a gateway)"),
    )


def run(args: argparse.Namespace) -> int:
    try:
        if args.archive:
            path, recipient = make_archive_identity(args.out)
            print(f"archive identity: {path} (mode 0600; keep it off every gateway)")
            print(f"recipient (put into [keys] recipients): {recipient}")
        elif args.operator:
            path, signer = make_operator_key(args.out)
            print(f"operator key: {path} (mode 0600; keep it off every gateway)")
            public = signer.public_key_text()
            print(f"operator public key (put into [commands] operators): {public}")
            print(f"key id: {signer.key_id}")
        else:
            path, fp = make_device_key(args.out)
            public = path.with_name(path.name + ".pub").read_text().strip()
            print(f"device signing key: {path} (mode 0600)")
            print(f"public key: {public}")
            print(f"fingerprint: {fp}")
    except FileExistsError as e:
        raise UsageError(f"{e.filename} exists; refusing to overwrite a key") from e
    return 0
