"""`evgw keygen --operator` and `evgw command` against a running gateway and a real mosquitto.

The attacks are published with the real `mosquitto_pub`, as anyone on the broker could; the
signed commands come from `evgw command`, and the exact bytes it sent are replayed after the
gateway restarted.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.cli.main import main
from gateway.config import Config
from gateway.daemon.lifecycle import Gateway
from gateway.keys import OPERATOR_KEY_NAME
from segments.signing import Ed25519Signer, load_signer
from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.recording import Cam, make_config, records
from uplink.settings import MqttSettings
from uplink.signed_command import sign_command

ROOT = "evgw/gw-test"
ProbeFactory = Callable[[MqttSettings, list[str]], Probe]


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def mosquitto_pub(broker: MosquittoServer, topic: str, payload: bytes) -> None:
    """Publish as an outsider would: the stock client, no evgw code involved."""
    client = shutil.which("mosquitto_pub")
    if client is None:
        pytest.skip("mosquitto_pub not installed: apt-get install mosquitto-clients")
    argv = [client, "-h", broker.host, "-p", str(broker.port), "-q", "1", "-t", topic, "-s"]
    subprocess.run(argv, input=payload, check=True, timeout=60)


def exit_code(argv: list[str]) -> int:
    """`evgw ARGV`'s exit code, also when argparse exits by itself."""
    try:
        return main(argv)
    except SystemExit as e:
        return int(e.code or 0)


def operator_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str]:
    assert main(["keygen", "--operator", "--out", str(tmp_path / "operator")]) == 0
    out = capsys.readouterr().out
    public = out.split("operator public key (put into [commands] operators): ")[1].split()[0]
    return tmp_path / "operator" / OPERATOR_KEY_NAME, public


def gateway_config(tmp_path: Path, broker: MosquittoServer, operators: list[str]) -> Config:
    dead_camera = f"rtsp://127.0.0.1:{find_free_port()}/x"  # commands need no pictures
    extra = (
        f'[mqtt]\nhost = "127.0.0.1"\nport = {broker.port}\nkeepalive_s = 5\n'
        f"[commands]\noperators = {json.dumps(operators)}\nmax_skew_s = 60.0\n"
    )
    return make_config(tmp_path, [Cam("gate-1", dead_camera)], extra=extra)


def started(config: Config, probe: Probe) -> Gateway:
    """A running gateway whose command subscriptions are in place (it answers a ping)."""
    gateway = Gateway(config)
    gateway.start()
    deadline = time.monotonic() + 60
    seen = len(probe.json_on(f"{ROOT}/cmd/rediscover/result"))
    while len(probe.json_on(f"{ROOT}/cmd/rediscover/result")) == seen:
        assert time.monotonic() < deadline, "the gateway never answered on cmd/rediscover"
        probe.publish(f"{ROOT}/cmd/rediscover", b"{}")  # unsigned: refused, but answered
        time.sleep(0.2)
    return gateway


def replies(probe: Probe, name: str, nonce: str | None, count: int = 1) -> list[dict[str, Any]]:
    """The replies on cmd/<name>/result with `nonce` (None: without one), once `count` came."""
    topic = f"{ROOT}/cmd/{name}/result"

    def found(messages: list[tuple[str, bytes, bool]]) -> list[dict[str, Any]]:
        answers = [json.loads(p) for t, p, _ in messages if t == topic]
        return [r for r in answers if r.get("nonce") == nonce]

    return found(probe.wait_for(lambda m: len(found(m)) >= count, 30))


def hold_by(signer: Ed25519Signer, now: float, window: dict[str, str], **args: str) -> bytes:
    command = sign_command(
        signer, gateway="gw-test", command="hold", args={**window, **args}, now=now
    )
    return command.to_bytes()


def nonce_of(payload: bytes) -> str:
    return str(json.loads(payload)["nonce"])


def active_holds(config: Config) -> list[tuple[Any, ...]]:
    with sqlite3.connect(config.gateway.data_dir / "index.sqlite3") as db:
        return list(db.execute("SELECT id, case_id FROM holds WHERE released IS NULL"))


def test_keygen_makes_an_operator_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path, public = operator_key(tmp_path, capsys)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    signer = load_signer(path)
    assert public == signer.public_key_text()
    assert path.with_name(OPERATOR_KEY_NAME + ".pub").read_text() == public + "\n"
    assert main(["keygen", "--operator", "--out", str(path.parent)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert exit_code(["keygen", "--operator", "--archive", "--out", str(tmp_path / "x")]) == 2


@pytest.mark.integration
def test_signed_commands_against_a_running_gateway(
    mqtt_broker: MosquittoServer,
    probe_factory: ProbeFactory,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key, public = operator_key(tmp_path, capsys)
    operator = load_signer(key)
    config = gateway_config(tmp_path, mqtt_broker, [public])
    probe = probe_factory(
        settings_for(mqtt_broker), [f"{ROOT}/cmd/+/result", f"{ROOT}/cmd/hold", f"{ROOT}/events"]
    )
    broker = ["--broker", f"127.0.0.1:{mqtt_broker.port}", "--timeout", "60"]
    now = time.time()
    window = {"camera": "gate-1", "from": iso(now - 600), "to": iso(now + 60)}
    send = ["command", "--key", str(key), *broker, "gw-test"]
    gateway = started(config, probe)
    try:
        # (1) what anyone on the broker can publish: refused, answered, reported
        stranger = Ed25519Signer(Ed25519PrivateKey.generate())
        attacks = {
            "stale": hold_by(operator, now - 600, window, case="A"),
            "future": hold_by(operator, now + 600, window, case="B"),
            "unknown_key": hold_by(stranger, now, window, case="C"),
        }
        mosquitto_pub(mqtt_broker, f"{ROOT}/cmd/hold", json.dumps({**window, "case": "X"}).encode())
        for payload in attacks.values():
            mosquitto_pub(mqtt_broker, f"{ROOT}/cmd/hold", payload)
        for reason, payload in attacks.items():
            (reply,) = replies(probe, "hold", nonce_of(payload))
            assert reply["ok"] is False and reply["reason"] == reason, reply
        (reply,) = replies(probe, "hold", None)
        assert reply["ok"] is False and reply["reason"] == "unsigned"
        year_9999 = hold_by(operator, time.time(), window, to="9999-12-31T23:00:00-14:00", case="D")
        mosquitto_pub(mqtt_broker, f"{ROOT}/cmd/hold", year_9999)
        (reply,) = replies(probe, "hold", nonce_of(year_9999))
        assert reply["ok"] is False and "'to'" in reply["error"]
        assert active_holds(config) == [] and records(config, "gate-1", "hold") == []

        # (2) a signed hold from `evgw command` lands in the ledger with the operator's key id
        hold_args = ["--camera", "gate-1", "--from", window["from"], "--to", window["to"]]
        assert main([*send, "hold", *hold_args, "--case", "2026-001"]) == 0
        out = capsys.readouterr().out
        assert out.startswith("gw-test hold: ok\n") and "  hold_id: " in out
        (sent,) = [p for t, p, _ in probe.messages if t == f"{ROOT}/cmd/hold" and b"2026-001" in p]
        (held,) = replies(probe, "hold", nonce_of(sent))
    finally:
        gateway.stop()
    (hold,) = records(config, "gate-1", "hold")
    assert hold.extra["operator"] == operator.key_id and hold.extra["case"] == "2026-001"
    assert hold.extra["nonce"] == held["nonce"] and hold.sig
    assert active_holds(config) == [(held["hold_id"], "2026-001")]

    # (3) the exact message again, after a restart: refused as a replay
    gateway = started(config, probe)
    try:
        mosquitto_pub(mqtt_broker, f"{ROOT}/cmd/hold", sent)
        replay = replies(probe, "hold", held["nonce"], count=2)[1]
        assert replay["ok"] is False and replay["reason"] == "replayed"

        # (4) a refused command is exit 1; a release names who released
        assert main([*send, "release", "--hold-id", "999"]) == 1
        assert "no active hold #999" in capsys.readouterr().out
        assert (
            main([*send[:-1], "--json", "gw-test", "release", "--hold-id", str(held["hold_id"])])
            == 0
        )
        released = json.loads(capsys.readouterr().out)
        assert released["ok"] is True and released["hold_id"] == held["hold_id"]
    finally:
        gateway.stop()
    assert [r.reason for r in records(config, "gate-1", "hold")] == ["hold", "release"]
    assert records(config, "gate-1", "hold")[1].extra["operator"] == operator.key_id
    assert active_holds(config) == []
    events = probe.json_on(f"{ROOT}/events")
    refused = {(e["reason"], e.get("key_id")) for e in events if e["kind"] == "command_refused"}
    expected = {
        ("unsigned", None),
        ("stale", operator.key_id),
        ("future", operator.key_id),
        ("unknown_key", stranger.key_id),
        ("replayed", operator.key_id),
    }
    assert expected <= refused
    done = [(e["command"], e["ok"]) for e in events if e["kind"] == "command_done"]
    assert done == [("hold", False), ("hold", True), ("release", False), ("release", True)]


def test_command_without_a_gateway_says_what_to_check(
    mqtt_broker: MosquittoServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = operator_key(tmp_path, capsys)
    argv = ["command", "--key", str(key), "--broker", f"127.0.0.1:{mqtt_broker.port}"]
    assert main([*argv, "--timeout", "1", "gw-nowhere", "rediscover"]) == 3  # runtime failure
    err = capsys.readouterr().err
    assert "no reply from gateway gw-nowhere within 1 s" in err
    assert "evgw monitor" in err and "topic_root is evgw" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            [
                "gw-test",
                "hold",
                "--camera",
                "c",
                "--from",
                "yesterday",
                "--to",
                "2026-11-27T14:00:00Z",
                "--case",
                "x",
            ],
            "--from 'yesterday' is not an ISO 8601 time",
        ),
        (["gw-test", "release", "--hold-id", "x"], "invalid int value"),
        (["gw/x", "rediscover"], "cannot send this command: gateway"),
        (["--timeout", "0", "gw-test", "rediscover"], "--timeout must be a positive"),
        (
            [
                "gw-test",
                "hold",
                "--camera",
                "c",
                "--from",
                "2026-11-27T14:00:00Z",
                "--to",
                "2026-11-27T15:00:00Z",
                "--case",
                "x" * 300,
            ],
            "cannot send this command",
        ),
    ],
)
def test_command_usage_mistakes_are_exit_2(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = operator_key(tmp_path, capsys)
    broker = ["--broker", f"127.0.0.1:{find_free_port()}"]
    assert exit_code(["command", "--key", str(key), *broker, *argv]) == 2
    assert message in capsys.readouterr().err


def test_command_with_a_bad_key_file_or_broker(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, _ = operator_key(tmp_path, capsys)
    port = find_free_port()
    base = ["command", "--broker", f"127.0.0.1:{port}", "--timeout", "2"]
    assert main([*base, "--key", str(tmp_path / "missing"), "gw-test", "rediscover"]) == 2
    assert "--key:" in capsys.readouterr().err
    key.chmod(0o644)
    assert main([*base, "--key", str(key), "gw-test", "rediscover"]) == 2
    assert "chmod 600" in capsys.readouterr().err
    key.chmod(0o600)
    assert main([*base, "--key", str(key), "gw-test", "rediscover"]) == 3  # nobody answers
    assert f"127.0.0.1:{port}" in capsys.readouterr().err
