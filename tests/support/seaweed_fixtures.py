"""Pytest plugin: a real SeaweedFS (`weed mini`) for S3 tests (add to `pytest_plugins`).

`seaweed` is one server per session (start ~1 s); tests that stop or restart a store use
`seaweed_factory` so they never disturb the shared one. `seaweed_cluster` is a private
cluster (master, 3 volume servers, filer, S3; start ~2 s) for tests that lose a disk server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testbeds.seaweed_cluster import SeaweedCluster
from testbeds.seaweedfs import SeaweedServer
from tests.support.seaweed import (
    settings_for,
    start_cluster,
    start_seaweed,
    unique_bucket,
    weed_available,
)
from uplink.objectstore import ObjectStore

SeaweedFactory = Callable[[], SeaweedServer]


@pytest.fixture(scope="session")
def _weed_installed() -> None:
    reason = weed_available()
    if reason is not None:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def seaweed(
    _weed_installed: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeaweedServer]:
    """A SeaweedFS shared by the session; do not stop it."""
    server = start_seaweed(tmp_path_factory.mktemp("seaweed"))
    yield server
    server.stop()


@pytest.fixture
def seaweed_factory(_weed_installed: None, tmp_path: Path) -> Iterator[SeaweedFactory]:
    """``factory()`` starts a private SeaweedFS; each is stopped at teardown."""
    started: list[SeaweedServer] = []

    def start() -> SeaweedServer:
        server = start_seaweed(tmp_path / f"seaweed-{len(started)}")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def seaweed_cluster(_weed_installed: None, tmp_path: Path) -> Iterator[SeaweedCluster]:
    """A private SeaweedFS cluster for this test (replication 001 over 3 volume servers)."""
    cluster = start_cluster(tmp_path / "seaweed-cluster")
    yield cluster
    cluster.stop()


@pytest.fixture
def object_store(seaweed: SeaweedServer) -> ObjectStore:
    """An ObjectStore on a fresh bucket with object lock, on the session's SeaweedFS."""
    store = ObjectStore(settings_for(seaweed, unique_bucket()))
    store.ensure_bucket(object_lock=True)
    return store
