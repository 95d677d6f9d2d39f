"""sd_notify round trips through a real AF_UNIX datagram socket, as systemd would receive them."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.daemon.sdnotify import Notifier, socket_address, watchdog_interval


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    path = tmp_path / "notify"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind(str(path))
        s.settimeout(2.0)
        yield str(path), s


def receive(s: socket.socket) -> str:
    return s.recv(4096).decode("utf-8")


def test_round_trip_ready_status_watchdog_stopping(listener: tuple[str, socket.socket]) -> None:
    path, s = listener
    notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
    assert notifier.enabled
    assert notifier.ready()
    assert receive(s) == "READY=1"
    assert notifier.status("recording 3/4 cameras,\nbacklog 12")
    assert receive(s) == "STATUS=recording 3/4 cameras, backlog 12"
    assert notifier.watchdog()
    assert receive(s) == "WATCHDOG=1"
    assert notifier.stopping()
    assert receive(s) == "STOPPING=1"
    assert notifier.send("STATUS=你好", "WATCHDOG=1")
    assert receive(s) == "STATUS=你好\nWATCHDOG=1"


def test_abstract_namespace() -> None:
    name = f"evgw-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.bind("\0" + name)
        s.settimeout(2.0)
        assert Notifier.from_env({"NOTIFY_SOCKET": "@" + name}).ready()
        assert receive(s) == "READY=1"


def test_unset_is_a_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert not notifier.ready()
    assert not notifier.watchdog()


@pytest.mark.parametrize("value", ["", "relative/path", "@"])
def test_unusable_addresses_are_ignored(value: str) -> None:
    assert socket_address(value) is None


def test_a_missing_socket_is_logged_not_raised(tmp_path: Path) -> None:
    assert not Notifier(str(tmp_path / "gone")).watchdog()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"WATCHDOG_USEC": "30000000"}, 30.0),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "4242"}, 0.5),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "500000", "WATCHDOG_PID": "x"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
    ],
)
def test_watchdog_interval(env: dict[str, str], expected: float | None) -> None:
    assert watchdog_interval(env, pid=4242) == expected
