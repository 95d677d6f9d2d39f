"""An archive with a witness key (and optionally a TSA CA) over a real SeaweedFS bucket, run
through the real command line: what the witness, timestamp and verify-box tests share."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from central.catalogue.db import Catalogue
from central.catalogue.schema import timestamps, witnessed
from central.config import load_central_config
from gateway.cli.main import main
from segments.signing import Ed25519Signer, generate_signing_key
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import SITE, Box, central_toml
from tests.support.seaweed import raw_client
from uplink.object_keys import checkpoint_key, timestamp_key, witness_key
from uplink.objectstore import ObjectStore

NAME = "archive.example.gov/witness"


@dataclass
class WitnessRig:
    """One box, the bucket it uploads to, and the archive's config with [witness]."""

    folder: Path
    seaweed: SeaweedServer
    store: ObjectStore
    box: Box
    config: Path
    witness: Ed25519Signer
    capsys: pytest.CaptureFixture[str]

    @property
    def bucket(self) -> str:
        return self.store.settings.bucket

    def sync(self, *extra: str) -> tuple[int, dict[str, Any]]:
        """`evgw archive sync --json` through the real CLI: exit code and the summary."""
        self.capsys.readouterr()
        code = main(["archive", "sync", "--config", str(self.config), "--json", *extra])
        return code, json.loads(self.capsys.readouterr().out)

    def sync_text(self) -> tuple[int, str]:
        self.capsys.readouterr()
        code = main(["archive", "sync", "--config", str(self.config)])
        return code, self.capsys.readouterr().out

    def verify_box(self, *extra: str) -> tuple[int, str]:
        self.capsys.readouterr()
        args = ["archive", "verify-box", str(self.box.data_dir), "--config", str(self.config)]
        code = main([*args, *extra])
        return code, self.capsys.readouterr().out

    def put(self, key: str, body: bytes) -> None:
        raw_client(self.seaweed).put_object(Bucket=self.bucket, Key=key, Body=body)

    def get(self, key: str, version_id: str | None = None) -> bytes:
        args = {"VersionId": version_id} if version_id else {}
        answer = raw_client(self.seaweed).get_object(Bucket=self.bucket, Key=key, **args)
        return bytes(answer["Body"].read())

    def versions(self, key: str) -> list[dict[str, Any]]:
        answer = raw_client(self.seaweed).list_object_versions(Bucket=self.bucket, Prefix=key)
        return [v for v in answer.get("Versions", []) if v["Key"] == key]

    def witnessed_keys(self) -> list[str]:
        prefix = f"{SITE}/{self.box.gateway}/"
        answer = raw_client(self.seaweed).list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        keys = [o["Key"] for o in answer.get("Contents", [])]
        return sorted(k for k in keys if k.endswith(".witnessed"))

    def checkpoint_key(self, size: int) -> str:
        return checkpoint_key(SITE, self.box.gateway, self.box.stream, size)

    def witness_key(self, size: int) -> str:
        return witness_key(SITE, self.box.gateway, self.box.stream, size)

    def token_key(self, size: int) -> str:
        return timestamp_key(SITE, self.box.gateway, self.box.stream, size)

    def rows(self, table: Any) -> list[Any]:
        catalogue = Catalogue.open(load_central_config(self.config).database)
        try:
            with catalogue.transaction() as tx:
                return list(tx.c.execute(select(table).order_by(table.c.id)))
        finally:
            catalogue.close()

    def witnessed_rows(self) -> list[Any]:
        return self.rows(witnessed)

    def token_rows(self) -> list[Any]:
        return self.rows(timestamps)


def make_rig(
    folder: Path,
    seaweed: SeaweedServer,
    store: ObjectStore,
    database: str,
    capsys: pytest.CaptureFixture[str],
    tsa_ca: Path | None = None,
) -> WitnessRig:
    box = Box(folder)
    signer = generate_signing_key(folder / "keys" / "witness.ed25519")
    extra = f'[witness]\nname = "{NAME}"\nsigning_key = "keys/witness.ed25519"\n'
    if tsa_ca is not None:
        extra += f'[tsa]\nurl = "http://127.0.0.1:9/tsr"\nca_file = "{tsa_ca}"\n'
    config = central_toml(
        folder, seaweed.endpoint_url, store.settings.bucket, database,
        {box.gateway: box.public_key}, extra=extra,
    )  # fmt: skip
    return WitnessRig(folder, seaweed, store, box, config, signer, capsys)
