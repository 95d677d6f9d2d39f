"""Shared fixtures: real servers started and stopped by the tests themselves."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

REPO_ROOT = str(Path(__file__).resolve().parent.parent)
if REPO_ROOT not in sys.path:
    sys.path.insert(0, REPO_ROOT)

from testbeds.process import find_free_port  # noqa: E402
from testbeds.rtsp import RtspTestServer, gst_rtsp_available  # noqa: E402

pytest_plugins = [
    "tests.support.mqtt_fixtures",
    "tests.support.postgres_fixtures",
    "tests.support.seaweed_fixtures",
    "tests.support.tsa_fixtures",
    "tests.support.browser_fixtures",
    "tests.support.desk_fixtures",
]

RtspServerFactory = Callable[..., RtspTestServer]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests on the WS-Discovery group share one worker under `-n`: all use port 3702.

    A probe or Hello from one worker's emulators would reach the other worker's daemon or
    listener, so these tests run one after another while everything else runs in parallel.
    """
    for item in items:
        if item.get_closest_marker("multicast") is not None:
            item.add_marker(pytest.mark.xdist_group("multicast"))


@pytest.fixture(scope="session")
def _gst_rtsp() -> None:
    reason = gst_rtsp_available()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture
def rtsp_server_factory(_gst_rtsp: None) -> Iterator[RtspServerFactory]:
    """Start simulated cameras; each is stopped at teardown.

    ``factory(mounts, user=None, password=None, *, port=None, pattern="smpte", speed=4,
    auth="digest", noise=0.0)``
    """
    started: list[RtspTestServer] = []

    def start(
        mounts: list[str],
        user: str | None = None,
        password: str | None = None,
        *,
        port: int | None = None,
        pattern: str = "smpte",
        speed: int = 4,
        auth: str = "digest",
        noise: float = 0.0,
    ) -> RtspTestServer:
        server = RtspTestServer(
            port or find_free_port(),
            mounts,
            user,
            password,
            pattern=pattern,
            speed=speed,
            auth=auth,
            noise=noise,
        )
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def rtsp_server(rtsp_server_factory: RtspServerFactory) -> RtspTestServer:
    """A running simulator with ``cam1`` (640x360@25) and ``cam2`` (1280x720@25)."""
    return rtsp_server_factory(["cam1:640x360@25", "cam2:1280x720@25"])


def pytest_configure(config: pytest.Config) -> None:
    """Tests read evgw's English: a developer's LANG=zh_CN must not turn them Chinese
    (tests/evgw/test_i18n.py asks for Chinese explicitly)."""
    os.environ["LANGUAGE"] = "en"
