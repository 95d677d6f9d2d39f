"""The sample broker ACL and bucket policy in config/ fit the topics and keys the code uses:
a gateway writes only under its own id and hears only its own commands; it may put (never
delete) only under its own <site>/<gateway>/ prefix."""

from __future__ import annotations

import fnmatch
import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from testbeds.mosquitto import MosquittoServer
from tests.support.mqtt_fixtures import Probe, settings_for
from tests.support.paths import REPO
from uplink import object_keys
from uplink.mqtt import GatewayLink
from uplink.settings import MqttSettings

ACL = REPO / "config" / "mosquitto-acl.example"
POLICY = REPO / "config" / "s3-gateway-policy.example.json"
USERS = {"gw-a": "pw-a", "gw-b": "pw-b", "central": "pw-c"}


class AclBroker(MosquittoServer):
    """A broker with password users and the sample ACL."""

    def prepare(self) -> None:
        super().prepare()
        with self.config_file.open("a") as f:
            f.write(f"acl_file {ACL}\n")


@pytest.fixture
def acl_broker(_mosquitto_installed: None, tmp_path: Path) -> Iterator[MosquittoServer]:
    broker = AclBroker(tmp_path / "mosquitto", users=USERS).start()
    yield broker
    broker.stop()


def _as(broker: MosquittoServer, user: str) -> MqttSettings:
    return settings_for(broker, username=user, password=USERS[user])


def test_a_gateway_publishes_and_hears_only_its_own_topics(
    acl_broker: MosquittoServer, probe_factory: Callable[[MqttSettings, list[str]], Probe]
) -> None:
    broker = acl_broker
    central = probe_factory(_as(broker, "central"), ["evgw/#"])

    link = GatewayLink(_as(broker, "gw-a"), "gw-a")
    link.on_command("hold", lambda payload: {"ok": True})
    link.start()
    try:
        assert link.wait_connected(30), link.last_error
        link.publish_retained("health", {"disk": 1})
        link.publish_retained("cameras/cam1/health", {"online": True})
        link.publish_retained("alarms", {"active": []})
        link.publish_event({"event": "sealed"})
        _until_answered(central, "evgw/gw-a/cmd/hold")
        code_topics = {
            f"evgw/gw-a/{t}"
            for t in (
                "state",
                "health",
                "cameras/cam1/health",
                "alarms",
                "events",
                "cmd/hold/result",
            )
        }
        central.wait_for(lambda got: code_topics <= {t for t, _, _ in got}, timeout=30)
    finally:
        link.stop()

    intruder = probe_factory(_as(broker, "gw-a"), ["evgw/gw-b/cmd/+", "evgw/gw-a/cmd/+"])
    intruder.publish("evgw/gw-b/state", b"online", retain=True)  # posing as gw-b: dropped
    intruder.publish("evgw/gw-b/cmd/hold", b"{}")  # commanding gw-b: dropped
    intruder.publish("evgw/gw-a/events", b"{}")  # its own: delivered, after the two above
    central.wait_for(lambda got: ("evgw/gw-a/events", b"{}", False) in got, timeout=30)
    central.publish("evgw/gw-b/cmd/hold", b"for b")
    central.publish("evgw/gw-a/cmd/hold", b"for a")
    intruder.wait_for(lambda got: any(p == b"for a" for _, p, _ in got), timeout=30)
    central.wait_for(lambda got: any(p == b"for a" for _, p, _ in got), timeout=30)
    from_a = [(t, p) for t, p, _ in central.messages if t.startswith("evgw/gw-b/")]
    assert from_a == [("evgw/gw-b/cmd/hold", b"for b")], "only central's own command"
    assert not [t for t, _, _ in intruder.messages if t.startswith("evgw/gw-b/")]


def _until_answered(central: Probe, command: str) -> None:
    """Send `command` until its result comes back: the link subscribes after it connects."""
    deadline = time.monotonic() + 30
    while True:
        central.publish(command, b"{}")
        try:
            central.wait_for(lambda got: any(t == f"{command}/result" for t, _, _ in got), 0.2)
            return
        except AssertionError:
            assert time.monotonic() < deadline, f"no answer to {command}"


def _statements(effect: str) -> list[dict[str, object]]:
    policy = json.loads(POLICY.read_text())
    return [s for s in policy["Statement"] if s["Effect"] == effect]


def _as_list(value: object) -> list[str]:
    return [value] if isinstance(value, str) else list(value)  # type: ignore[call-overload]


def _allowed(action: str, resource: str) -> bool:
    def matches(statement: dict[str, object]) -> bool:
        return any(fnmatch.fnmatchcase(action, a) for a in _as_list(statement["Action"])) and any(
            fnmatch.fnmatchcase(resource, r) for r in _as_list(statement["Resource"])
        )

    return any(map(matches, _statements("Allow"))) and not any(map(matches, _statements("Deny")))


# Every S3 call the gateway makes (boto3 method, as called on `self._s3`) → its IAM action.
# create_bucket is the archive's (ensure_bucket: the demo and tests), never a gateway's.
S3_ACTIONS = {
    "put_object": "s3:PutObject",
    "create_multipart_upload": "s3:PutObject",
    "upload_part": "s3:PutObject",
    "complete_multipart_upload": "s3:PutObject",
    "abort_multipart_upload": "s3:AbortMultipartUpload",
    "put_object_retention": "s3:PutObjectRetention",
    "head_object": "s3:GetObject",
    "get_object": "s3:GetObject",
    "get_object_lock_configuration": "s3:GetBucketObjectLockConfiguration",
    "create_bucket": None,
}


def test_the_bucket_policy_allows_what_the_uploader_calls_on_its_own_prefix_only() -> None:
    called = {
        m
        for path in (REPO / "uplink").glob("*.py")
        for m in re.findall(r"_s3\.(\w+)", path.read_text())
    }
    assert called <= S3_ACTIONS.keys(), f"map the new S3 calls to IAM actions: {called}"
    bucket = "arn:aws:s3:::EXAMPLE-BUCKET"
    own = object_keys.media_key("EXAMPLE-SITE", "EXAMPLE-GATEWAY", "cam1", 7, 1.7e9)
    other = object_keys.media_key("EXAMPLE-SITE", "another-gateway", "cam1", 7, 1.7e9)
    checkpoint = object_keys.checkpoint_key("EXAMPLE-SITE", "EXAMPLE-GATEWAY", "cam1", 8)
    for method in called:
        action = S3_ACTIONS[method]
        if action is None:
            continue
        on = bucket if action.startswith("s3:GetBucket") else f"{bucket}/{own}"
        assert _allowed(action, on), (method, action)
        assert _allowed(action, f"{bucket}/{checkpoint}") or on == bucket
        if on != bucket:
            assert not _allowed(action, f"{bucket}/{other}"), f"{action} on another gateway's key"
    for never in ("s3:DeleteObject", "s3:DeleteObjectVersion", "s3:BypassGovernanceRetention"):
        assert not _allowed(never, f"{bucket}/{own}"), never
    (listing,) = [s for s in _statements("Allow") if s["Action"] == "s3:ListBucket"]
    prefixes = listing["Condition"]["StringLike"]["s3:prefix"]  # type: ignore[index]
    assert fnmatch.fnmatchcase(own, prefixes) and not fnmatch.fnmatchcase(other, prefixes)


def test_the_policy_uses_placeholders_only() -> None:
    """Nothing in the sample can pass for a real bucket, site or account."""
    text = POLICY.read_text()
    assert not re.search(r"\d{12}", text), "no account id"
    assert set(re.findall(r"EXAMPLE-[A-Z]+", text)) == {
        "EXAMPLE-BUCKET",
        "EXAMPLE-SITE",
        "EXAMPLE-GATEWAY",
    }
