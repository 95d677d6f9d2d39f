"""The demo's headquarters half: the box's evidence deleted, then the case retrieved centrally.

What a stolen or burned box leaves: the bucket. The archive enrols the box's public key,
catalogues and witnesses the bucket (`evgw archive sync`), exports a minute of one camera
(`evgw archive export`) and a court expert checks the package with public keys alone
(`evgw verify-export`). The commands run through the real command line, as an operator types
them; `gateway` reaches `central` only that way.
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path

from segments.signing import generate_signing_key, load_signer
from segments.store import DataDir

from ..config import Config
from ..wiring import index_path
from . import main as cli

CENTRAL_CONFIG = Path(__file__).resolve().parents[2] / "config" / "demo-central.toml"
HQ_FOLDER = CENTRAL_CONFIG.parents[1] / "demo-archive"
CASE_SECONDS = 60.0


def run_headquarters(config: Config, camera: str, since: float) -> int:
    """Delete the box's evidence, then sync, export and verify at headquarters; worst exit code."""
    device_pub = enrol_gateway(config)
    export_pub = hq_key("export.ed25519")
    hq_key("witness.ed25519")
    delete_box_evidence(config)
    codes = [_evgw("archive", "sync", "--config", str(CENTRAL_CONFIG))]
    start = datetime.fromtimestamp(since).astimezone()
    end = start + timedelta(seconds=CASE_SECONDS)
    case = f"DEMO-{start:%Y%m%d-%H%M%S}"
    out = HQ_FOLDER / "exports"
    shutil.rmtree(out / case, ignore_errors=True)
    codes.append(
        _evgw(
            "archive", "export", "--config", str(CENTRAL_CONFIG),
            "--gateway", config.gateway.id, "--camera", camera,
            "--from", start.isoformat(timespec="seconds"),
            "--to", end.isoformat(timespec="seconds"),
            "--case", case, "--out", str(out), "--operator", "demo investigator",
        )
    )  # fmt: skip
    codes.append(
        _evgw(
            "verify-export", str(out / case),
            "--pubkey", str(device_pub), "--archive-pubkey", str(export_pub),
        )
    )  # fmt: skip
    return max(codes)


def enrol_gateway(config: Config) -> Path:
    """Headquarters trusts the box's public key, handed over when the box was installed."""
    pub = config.keys.signing_key.with_name(config.keys.signing_key.name + ".pub")
    trusted = HQ_FOLDER / "trusted" / f"{config.gateway.id}.pub"
    trusted.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(pub, trusted)
    return trusted


def hq_key(name: str) -> Path:
    """A headquarters signing key (0600) made on first use; returns its public key file."""
    path = HQ_FOLDER / name
    signer = load_signer(path) if path.exists() else generate_signing_key(path)
    pub = path.with_name(name + ".pub")
    pub.write_text(signer.public_key_text() + "\n", encoding="utf-8")
    return pub


def delete_box_evidence(config: Config) -> None:
    """The box is gone: its streams and index are deleted (its key stays for the next run)."""
    streams = DataDir(config.gateway.data_dir).streams
    index = index_path(config)
    print(f"\n$ rm -r {streams} {index}   # the box is lost: only the bucket remains")
    shutil.rmtree(streams, ignore_errors=True)
    for path in index.parent.glob(index.name + "*"):
        path.unlink()


def _evgw(*argv: str) -> int:
    print(f"\n$ evgw {' '.join(argv)}", flush=True)
    return cli.main(list(argv))
