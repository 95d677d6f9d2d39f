"""The monitoring desk as its users meet it: `evgw desk` in its own process, its accounts,
and logging in through the login form.

The desk is started as an operator would (`python -m gateway desk --config F`), on a port the
OS picks (`--listen 127.0.0.1:0`); the line it prints, ``desk: serving http://HOST:PORT/``, is
how the test learns the address and knows it serves.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect

from gateway.cli.main import main
from testbeds.mosquitto import MosquittoServer
from testbeds.process import LocalServer
from testbeds.seaweedfs import SeaweedServer
from tests.central.boxes import central_toml
from tests.support.paths import REPO

SERVING = re.compile(r"^desk: serving (https?://\S+)$", re.MULTILINE)


@dataclass(frozen=True)
class DeskUser:
    name: str
    role: str
    password: str


USERS = {
    role: DeskUser(name, role, f"{name}-口令-correct horse {role}")
    for name, role in (("lin", "viewer"), ("zhao", "investigator"), ("wang", "admin"))
}
"""One account per role; the names are not the roles, so a page showing "zhao" shows the user."""


class DeskServer(LocalServer):
    """`evgw desk` serving `config`; `url` once it said where (ends with '/')."""

    name = "evgw desk"

    def __init__(self, config: Path, log_path: Path) -> None:
        super().__init__(log_path=log_path, ready_timeout=90.0, stop_timeout=15.0)
        self.config = config

    def command(self) -> list[str]:
        listen = ["--listen", "127.0.0.1:0"]
        return [sys.executable, "-m", "gateway", "desk", "--config", str(self.config), *listen]

    def environment(self) -> Mapping[str, str]:
        """This checkout first on the path, not whichever one the venv was installed from."""
        return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}

    def ready(self) -> bool:
        return SERVING.search(self.output()) is not None

    @property
    def url(self) -> str:
        found = SERVING.search(self.output())
        assert found is not None, f"{self.name} has not said where it serves:\n{self.log_tail()}"
        return found.group(1)

    def at(self, path: str) -> str:
        """The absolute URL of `path` (``/alarms``) on this desk."""
        return self.url.rstrip("/") + path


def desk_config(folder: Path, store: SeaweedServer, bucket: str, broker: MosquittoServer) -> Path:
    """central.toml: the archive on `store`/`bucket` and a SQLite catalogue in `folder`, the
    fleet's broker, and a desk that ingests it."""
    trusted = folder / "trusted"  # the gateways' device keys, <gateway>.pub; none needed here
    trusted.mkdir(parents=True, exist_ok=True)
    extra = (
        f'[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\nkeepalive_s = 5\n'
        "[desk]\ningest = true\n"
    )
    database = f"sqlite:///{folder / 'catalog.db'}"
    return central_toml(
        folder, store.endpoint_url, bucket, database, {}, extra=extra, keys_dir=trusted
    )


def add_users(config: Path, users: Mapping[str, DeskUser] = USERS) -> None:
    """`evgw desk useradd` each user, its password in a 0600 file as an operator would."""
    for user in users.values():
        password_file = config.parent / f"{user.name}.pass"
        fd = os.open(password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(user.password + "\n")
        argv = ["desk", "useradd", user.name, "--role", user.role]
        argv += ["--password-file", str(password_file), "--config", str(config)]
        try:
            code = main(argv)
        except SystemExit as e:  # argparse refused the command line
            code = int(e.code or 0)
        assert code == 0, f"evgw {' '.join(argv)} exited with {code}"


def log_in(page: Page, desk: DeskServer, user: DeskUser) -> None:
    """Log in through the form, as a person would; the desk then leaves the login page."""
    page.goto(desk.at("/login"))
    page.locator('#login input[name="name"]').fill(user.name)
    page.locator('#login input[name="password"]').fill(user.password)
    page.locator("#login-submit").click()
    expect(page).not_to_have_url(re.compile(r"/login\b"))


def csrf_token(page: Page) -> str:
    """The CSRF token the desk gave this page's session (every form carries it)."""
    token = page.locator('input[name="csrf"]').first.get_attribute("value")
    assert token, "no CSRF token on the page"
    return token
