"""Where the desk's exports go: `[desk] exports_dir` (relative to central.toml), else
desk-exports beside a SQLite catalogue; with PostgreSQL and no exports_dir the export is
refused with the key to set, and nothing is queued."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import URL
from starlette.testclient import TestClient

from central.catalogue.db import Catalogue
from central.config import load_central_config
from central.desk.web.accounts import save_user
from central.desk.web.app import create_app
from central.desk.web.exports import exports_root
from tests.central.recorded import CAMERA, GATEWAY

from .conftest import PASSWORD, T0, desk_toml, log_in


def test_exports_dir_is_configured_or_beside_sqlite(tmp_path: Path, catalogue_url: URL) -> None:
    config = load_central_config(desk_toml(tmp_path, catalogue_url, 'exports_dir = "out"\n'))
    assert exports_root(config) == tmp_path / "out"
    unset = load_central_config(desk_toml(tmp_path, catalogue_url))
    if catalogue_url.get_backend_name() == "sqlite":
        assert exports_root(unset) == tmp_path / "desk-exports"
        return
    assert exports_root(unset) is None
    catalogue = Catalogue.open(unset.database)
    try:
        save_user(catalogue, "ivan", "investigator", PASSWORD, T0)
        client = TestClient(create_app(unset, catalogue))
        csrf = log_in(client, "ivan")
        form = {"gateway": GATEWAY, "camera": CAMERA, "from": "2026-01-01T00:00:00Z",
                "to": "2026-01-01T00:01:00Z", "case": "A-1", "csrf": csrf}  # fmt: skip
        refused = client.post("/cases/export", data=form)
        assert refused.status_code == 400 and "set [desk] exports_dir" in refused.text
    finally:
        catalogue.close()
