"""`evgw archive verify-box DATA_DIR --config central.toml [--camera C] [--gateway G] [--json]`.

Holds a box's data dir (or a copy of it) to the newest checkpoints this archive co-signed:
a cut tail, a rewritten record or a fork is NOT_AUTHENTIC with the step and seqs. The same
report and exit codes as `evgw verify` (0 authentic, 1 failing, 2 usage, 4 integrity only);
times in this machine's zone with the offset, UTC in `--json`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evgw.errors import ConfigError
from evgw.i18n import _, ngettext
from evgw.progress import Progress
from segments.verify import exit_code
from segments.verify.render import render

from ..catalogue.db import Catalogue
from ..config import load_central_config
from ..sync.bucket import Bucket
from ..witness.box import verify_box
from ..witness.keys import load_witness_key
from .zone import display_zone


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, help=_("the box's data dir, or a copy of it"))
    p.add_argument("--config", type=Path, required=True, help=_("the archive's TOML file"))
    p.add_argument("--camera", help=_("verify only this camera's stream"))
    p.add_argument("--gateway", help=_("the box's gateway id (default: as its ledger names it)"))
    p.add_argument("--json", action="store_true", help=_("print the report as JSON"))


def run(args: argparse.Namespace) -> int:
    config = load_central_config(args.config)
    key = load_witness_key(config)
    if key is None:
        raise ConfigError(
            _(
                "{path}: verify-box needs [witness]: it holds boxes to what that witness co-signed"
            ).format(path=config.path)
        )
    catalogue = Catalogue.open(config.database)
    progress = Progress(sys.stderr, _("verifying"))
    try:
        check = verify_box(config, key, catalogue, Bucket(config.store), args.data_dir,
                           camera=args.camera, gateway=args.gateway, progress=progress)  # fmt: skip
    finally:
        progress.finish()
        catalogue.close()
    if args.json:
        body = {"gateway": check.gateway, "witnessed": list(check.witnessed),
                "report": check.report.to_dict()}  # fmt: skip
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        count = len(check.witnessed)
        print(
            ngettext(
                "box of gateway {gateway}, held to {count} cosignature of witness {name}:",
                "box of gateway {gateway}, held to {count} cosignatures of witness {name}:",
                count,
            ).format(gateway=check.gateway, count=count, name=key.name)
        )
        print(render(check.report, display_zone()))
    return exit_code(check.report.verdict)
