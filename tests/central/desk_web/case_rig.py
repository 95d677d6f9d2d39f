"""A recorded, uploaded and synced archive for the Cases page (the retrieval tests' camera:
two runs around a declared camera_offline gap, a hold, an eviction), with a [desk] section
whose exports go to `<hq>/exports`; and the checks an expert runs on a downloaded package."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

from gateway.cli.main import main
from segments.signing import load_signer
from testbeds.seaweedfs import SeaweedServer
from tests.central.recorded import Recorded, archive_toml, record_and_upload
from tests.support.seaweed import settings_for, unique_bucket
from uplink.objectstore import ObjectStore


@dataclass(frozen=True)
class CaseArchive:
    recorded: Recorded
    config: Path

    @property
    def exports(self) -> Path:
        return self.config.parent / "exports"

    @property
    def device_key(self) -> str:
        return self.recorded.signer.public_key_text()

    @property
    def export_key(self) -> str:
        return load_signer(self.config.parent / "export.ed25519").public_key_text()


def case_archive(
    folder: Path, seaweed: SeaweedServer, database: str, desk: str = ""
) -> CaseArchive:
    """Record, upload and sync; `desk` adds lines to the [desk] section."""
    store = ObjectStore(settings_for(seaweed, unique_bucket("cases")))
    store.ensure_bucket(object_lock=True)
    recorded = record_and_upload(folder / "box", store)
    config = archive_toml(folder / "hq", seaweed, recorded, database)
    with config.open("a", encoding="utf-8") as f:
        f.write(f'[desk]\ningest = false\nexports_dir = "exports"\n{desk}')
    assert main(["archive", "sync", "--config", str(config)]) == 0
    return CaseArchive(recorded, config)


def untar(data: bytes, into: Path) -> list[str]:
    """Unpack a downloaded package as an expert would; the member names, in order."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        tar.extractall(into, filter="data")
    return names


def verify_export(package: Path, archive: CaseArchive) -> int:
    argv = ["verify-export", str(package), "--pubkey", archive.device_key,
            "--archive-pubkey", archive.export_key]  # fmt: skip
    return main(argv)
