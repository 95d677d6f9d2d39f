"""`evgw archive verify-box DATA_DIR --config central.toml [--camera C] [--gateway G] [--json]`.

Holds a box's data dir (or a copy of it) to the newest checkpoints this archive co-signed:
a cut tail, a rewritten record or a fork is NOT_AUTHENTIC with the step and seqs. The same
report and exit codes as `evgw verify` (0 authentic, 1 failing, 2 usage, 3 integrity only).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from evgw.errors import ConfigError
from evgw.progress import Progress
from segments.verify import exit_code
from segments.verify.render import render

from ..catalogue.db import Catalogue
from ..config import load_central_config
from ..sync.bucket import Bucket
from ..witness.box import verify_box
from ..witness.keys import load_witness_key


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("data_dir", type=Path, help="the box's data dir, or a copy of it")
    p.add_argument("--config", type=Path, required=True, help="the archive's TOML file")
    p.add_argument("--camera", help="verify only this camera's stream")
    p.add_argument("--gateway", help="the box's gateway id (default: as its ledger names it)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args: argparse.Namespace) -> int:
    config = load_central_config(args.config)
    key = load_witness_key(config)
    if key is None:
        raise ConfigError(
            f"{config.path}: verify-box needs [witness]: it holds boxes to what that witness "
            "co-signed"
        )
    catalogue = Catalogue.open(config.database)
    progress = Progress(sys.stderr, "verifying")
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
        print(f"box of gateway {check.gateway}, held to {len(check.witnessed)} cosignature(s) "
              f"of witness {key.name}:")  # fmt: skip
        print(render(check.report))
    return exit_code(check.report.verdict)
