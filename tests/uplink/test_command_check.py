"""Whether a gateway obeys a signed command: each refusal reason, and the order of checks."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from segments.errors import CryptoFormatError
from segments.signing import Ed25519Signer
from uplink.command_check import Keyring, Verified, check_command, verify_command
from uplink.signed_command import Reason, Refusal, SignedCommand, sign_command

NOW = 1_795_000_000.0
SKEW = 300.0
OPERATOR = Ed25519Signer(Ed25519PrivateKey.generate())
STRANGER = Ed25519Signer(Ed25519PrivateKey.generate())
KEYRING = Keyring.from_texts([OPERATOR.public_key_text()])


def never_seen(key_id: str, nonce: str) -> bool:
    return False


def signed(signer: Ed25519Signer = OPERATOR, **overrides: Any) -> SignedCommand:
    base: dict[str, Any] = {
        "gateway": "gw-test",
        "command": "hold",
        "args": {"camera": "gate-1"},
        "now": NOW,
    }
    return sign_command(signer, **{**base, **overrides})


def check(
    payload: bytes,
    *,
    keyring: Keyring = KEYRING,
    topic: str = "hold",
    now: float = NOW,
    seen: Callable[[str, str], bool] = never_seen,
) -> Verified | Refusal:
    return check_command(
        payload,
        keyring=keyring,
        gateway="gw-test",
        topic_command=topic,
        now=now,
        max_skew_s=SKEW,
        seen=seen,
    )


def reason(result: Verified | Refusal) -> Reason | None:
    return result.reason if isinstance(result, Refusal) else None


def test_a_listed_operators_fresh_command_is_verified() -> None:
    command = signed()
    result = check(command.to_bytes())
    assert isinstance(result, Verified)
    assert result.operator == OPERATOR.key_id and result.args == {"camera": "gate-1"}
    assert result.body.nonce == command.nonce


def test_the_edges_of_the_skew_window() -> None:
    assert isinstance(check(signed(now=NOW - SKEW + 1).to_bytes()), Verified)
    assert isinstance(check(signed(now=NOW + SKEW - 1).to_bytes()), Verified)


def test_refusals_name_their_reason_and_key() -> None:
    tampered = json.loads(signed().to_bytes())
    tampered["args"]["camera"] = "gate-2"
    forged = json.loads(signed(STRANGER).to_bytes())
    forged["key_id"] = OPERATOR.key_id
    unsigned = json.loads(signed().to_bytes())
    del unsigned["sig"]
    cases: list[tuple[bytes, dict[str, Any], Reason]] = [
        (json.dumps(unsigned).encode(), {}, Reason.UNSIGNED),
        (signed(STRANGER).to_bytes(), {}, Reason.UNKNOWN_KEY),
        (json.dumps(tampered).encode(), {}, Reason.BAD_SIGNATURE),
        (json.dumps(forged).encode(), {}, Reason.BAD_SIGNATURE),
        (signed(gateway="gw-other").to_bytes(), {}, Reason.WRONG_GATEWAY),
        (signed(command="release").to_bytes(), {}, Reason.WRONG_COMMAND),
        (signed(now=NOW - SKEW - 1).to_bytes(), {}, Reason.STALE),
        (signed(now=NOW + SKEW + 1).to_bytes(), {}, Reason.FUTURE),
        (signed().to_bytes(), {"seen": lambda k, n: True}, Reason.REPLAYED),
        (signed().to_bytes(), {"keyring": Keyring.from_texts([])}, Reason.NO_OPERATORS),
    ]
    for payload, options, expected in cases:
        result = check(payload, **options)
        assert isinstance(result, Refusal) and result.reason == expected, (expected, result)
        assert result.message().startswith(f"refused ({expected}): ")
        if expected != Reason.UNSIGNED:
            assert result.key_id is not None and result.nonce is not None


def test_the_signature_is_checked_before_the_content() -> None:
    """A stranger learns only that their key is unknown, not which gateway or time is wrong."""
    stale_elsewhere = signed(STRANGER, gateway="gw-other", now=NOW - 10 * SKEW)
    assert reason(check(stale_elsewhere.to_bytes())) == Reason.UNKNOWN_KEY
    sig = base64.b64encode(bytes(64)).decode()
    zero_sig = {**json.loads(signed(gateway="gw-other").to_bytes()), "sig": sig}
    assert reason(check(json.dumps(zero_sig).encode())) == Reason.BAD_SIGNATURE


def test_verify_command_sees_the_replay_check_it_is_given() -> None:
    command = signed()
    asked: list[tuple[str, str]] = []

    def seen(key_id: str, nonce: str) -> bool:
        asked.append((key_id, nonce))
        return False

    result = verify_command(
        command,
        keyring=KEYRING,
        gateway="gw-test",
        topic_command="hold",
        now=NOW,
        max_skew_s=SKEW,
        seen=seen,
    )
    assert isinstance(result, Verified) and asked == [(OPERATOR.key_id, command.nonce)]


def test_keyring_from_texts() -> None:
    ring = Keyring.from_texts([OPERATOR.public_key_text(), OPERATOR.public_key_text()])
    assert list(ring.keys) == [OPERATOR.key_id] and len(ring) == 1
    with pytest.raises(CryptoFormatError):
        Keyring.from_texts(["ed25519:not-base64!"])
