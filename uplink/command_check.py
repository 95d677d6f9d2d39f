"""Whether a gateway obeys a signed command: a pure decision over the envelope, the operator
keys it lists, the time and a replay check, returning `Verified` or a `Refusal` with its reason.

The steps are numbered as the checks run; the signature is checked before anything that is
about the message's content, so a sender without an operator key learns nothing more than
"unknown key" or "bad signature".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from segments.signing import Verifier, parse_public_key, verify_b64

from .signed_command import ArgValue, CommandBody, EnvelopeError, Reason, Refusal, SignedCommand


@dataclass(frozen=True)
class Keyring:
    """The operator keys a gateway obeys, by key id."""

    keys: Mapping[str, Verifier]

    @classmethod
    def from_texts(cls, texts: Iterable[str]) -> Keyring:
        """From public key texts (`ed25519:<base64>`); a malformed one raises CryptoFormatError."""
        verifiers = (parse_public_key(text) for text in texts)
        return cls(MappingProxyType({v.key_id: v for v in verifiers}))

    def __len__(self) -> int:
        return len(self.keys)


@dataclass(frozen=True)
class Verified:
    """A command that passed `verify_command`: its signer is `operator` (a key id)."""

    command: SignedCommand

    @property
    def operator(self) -> str:
        return self.command.key_id

    @property
    def body(self) -> CommandBody:
        return self.command.body

    @property
    def args(self) -> Mapping[str, ArgValue]:
        return self.command.body.args


def verify_command(
    command: SignedCommand,
    *,
    keyring: Keyring,
    gateway: str,
    topic_command: str,
    now: float,
    max_skew_s: float,
    seen: Callable[[str, str], bool],
) -> Verified | Refusal:
    """Is `command`, received on `cmd/<topic_command>` of `gateway` at `now`, to be obeyed?

    `seen(key_id, nonce)` says whether that nonce was already used.
    """
    key_id, nonce = command.key_id, command.nonce

    def refuse(reason: Reason, detail: str) -> Refusal:
        return Refusal(reason, detail, key_id, nonce)

    # (1) a key this gateway lists as an operator
    if not keyring.keys:
        return refuse(Reason.NO_OPERATORS, "this gateway lists no operator keys ([commands])")
    verifier = keyring.keys.get(key_id)
    if verifier is None:
        return refuse(
            Reason.UNKNOWN_KEY,
            f"key {key_id} is not an operator of this gateway: add its public key to "
            "[commands] operators",
        )
    # (2) its signature over the canonical body
    if not verify_b64(verifier, command.body.alg, key_id, command.body.signed_bytes(), command.sig):
        return refuse(
            Reason.BAD_SIGNATURE, "the signature does not match the command: altered or forged"
        )
    # (3) meant for this gateway and for the topic it came on
    body = command.body
    if body.gateway != gateway:
        return refuse(
            Reason.WRONG_GATEWAY, f"addressed to gateway {body.gateway}, this is {gateway}"
        )
    if body.command != topic_command:
        return refuse(
            Reason.WRONG_COMMAND,
            f"signed as {body.command} but published on cmd/{topic_command}",
        )
    # (4) issued within the allowed clock skew
    age = now - body.issued_ts
    if age > max_skew_s:
        return refuse(
            Reason.STALE,
            f"issued {age:.0f} s ago, more than max_skew_s = {max_skew_s:g}: check the "
            "sender's clock and send a new command",
        )
    if -age > max_skew_s:
        return refuse(
            Reason.FUTURE,
            f"issued {-age:.0f} s in the future, more than max_skew_s = {max_skew_s:g}: "
            "check the clocks of the sender and the gateway (NTP)",
        )
    # (5) never seen before
    if seen(key_id, nonce):
        return refuse(
            Reason.REPLAYED, "this command was received before: commands run once; send a new one"
        )
    return Verified(command)


def check_command(
    payload: bytes | bytearray,
    *,
    keyring: Keyring,
    gateway: str,
    topic_command: str,
    now: float,
    max_skew_s: float,
    seen: Callable[[str, str], bool],
) -> Verified | Refusal:
    """Parse and verify a received payload: `verify_command` for raw bytes."""
    try:
        command = SignedCommand.parse(payload)
    except EnvelopeError as e:
        return e.refusal
    return verify_command(
        command,
        keyring=keyring,
        gateway=gateway,
        topic_command=topic_command,
        now=now,
        max_skew_s=max_skew_s,
        seen=seen,
    )
