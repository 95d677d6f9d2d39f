"""Signed operator commands, format v1: what `evgw command` (and later the desk) signs and a
gateway checks before it obeys (DESIGN.md §7).

One JSON object, UTF-8, at most `MAX_ENVELOPE_BYTES`::

    {"v": 1, "alg": "ed25519", "key_id": "<16 hex: the operator key's id>",
     "issued": "2026-11-27T06:03:00.250Z", "nonce": "<32 hex: 128 random bits>",
     "gateway": "<gateway id>", "command": "hold", "args": {"camera": "gate-1", ...},
     "sig": "<base64 of the 64-byte Ed25519 signature>"}

`sig` covers the canonical JSON (sorted keys, UTF-8, no whitespace) of every other field.
That form is unambiguous across languages because the format admits no floats, integers only
within ±(2**53 - 1), ASCII field names and printable strings (no control, format or surrogate
characters): a desk written in anything can produce the same bytes. Parsing is strict and
total: a missing, unknown or repeated field, a wrong type, an oversized or deeply nested
payload raises `EnvelopeError` and nothing else. `command_check` decides whether to obey one.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from segments.records import canonical_json
from segments.signing import ED25519, Signer

from .errors import UplinkError

FORMAT_VERSION = 1
MAX_ENVELOPE_BYTES = 8192
MAX_ARGS = 16
MAX_STRING_CHARS = 256
MAX_INTEGER = 2**53 - 1
FIELDS = frozenset({"v", "alg", "key_id", "issued", "nonce", "gateway", "command", "args", "sig"})
_KEY_ID = re.compile(r"[0-9a-f]{16}")
_NONCE = re.compile(r"[0-9a-f]{32}")
_GATEWAY = re.compile(r"[A-Za-z0-9._-]{1,64}")
_COMMAND = re.compile(r"[a-z0-9][a-z0-9-]{0,31}")
_ARG_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_ISSUED = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?Z")
_SIG = re.compile(r"[A-Za-z0-9+/]{85}[AQgw]==")  # canonical base64 of exactly 64 bytes

ArgValue = str | int | bool


class Reason(StrEnum):
    """Why a command was refused: the vocabulary of error replies and `command_refused`."""

    MALFORMED = "malformed"
    UNSIGNED = "unsigned"
    UNSUPPORTED_VERSION = "unsupported_version"
    NO_OPERATORS = "no_operators"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    WRONG_GATEWAY = "wrong_gateway"
    WRONG_COMMAND = "wrong_command"
    STALE = "stale"
    FUTURE = "future"
    REPLAYED = "replayed"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class Refusal:
    """A command not obeyed; `key_id` and `nonce` when the envelope named them validly."""

    reason: Reason
    detail: str
    key_id: str | None = None
    nonce: str | None = None

    def message(self) -> str:
        return f"refused ({self.reason}): {self.detail}"


class EnvelopeError(UplinkError):
    """A payload that is not a well-formed v1 envelope; `refusal` says why, for the reply."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message())
        self.refusal = refusal


def _malformed(detail: str, key_id: str | None = None, nonce: str | None = None) -> EnvelopeError:
    return EnvelopeError(Refusal(Reason.MALFORMED, detail, key_id, nonce))


def _shown(value: object) -> str:
    """A hostile value, short and escaped, for a message."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_string(value: object, what: str, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise _malformed(f"{what} must be a string, got {type(value).__name__}")
    if pattern is not None and not pattern.fullmatch(value):
        raise _malformed(f"{what} {_shown(value)} is not in the expected form")
    return value


def _check_args(args: Mapping[str, object]) -> Mapping[str, ArgValue]:
    if len(args) > MAX_ARGS:
        raise _malformed(f"args has {len(args)} entries, at most {MAX_ARGS} are allowed")
    checked: dict[str, ArgValue] = {}
    for name, value in args.items():
        _check_string(name, "an args name", _ARG_NAME)
        if isinstance(value, bool):
            checked[name] = value
        elif isinstance(value, int):
            if abs(value) > MAX_INTEGER:
                raise _malformed(f"args {name} is outside ±{MAX_INTEGER}")
            checked[name] = value
        elif isinstance(value, str):
            if len(value) > MAX_STRING_CHARS or not value.isprintable():
                raise _malformed(
                    f"args {name} must be printable text of at most {MAX_STRING_CHARS} characters"
                )
            checked[name] = value
        else:
            raise _malformed(f"args {name} must be a string, an integer or a boolean")
    return MappingProxyType(checked)


@dataclass(frozen=True)
class CommandBody:
    """Everything the signature covers, validated on construction (`EnvelopeError` if not)."""

    key_id: str
    issued: str
    nonce: str
    gateway: str
    command: str
    args: Mapping[str, ArgValue] = field(hash=False)
    alg: str = ED25519
    v: int = FORMAT_VERSION

    def __post_init__(self) -> None:
        if type(self.v) is not int or self.v != FORMAT_VERSION or self.alg != ED25519:
            raise _malformed(f"only v {FORMAT_VERSION} with alg {ED25519} is understood")
        _check_string(self.key_id, "key_id", _KEY_ID)
        _check_string(self.nonce, "nonce", _NONCE)
        _check_string(self.gateway, "gateway", _GATEWAY)
        _check_string(self.command, "command", _COMMAND)
        _check_string(self.issued, "issued (UTC, e.g. 2026-11-27T06:03:00Z)", _ISSUED)
        try:
            datetime.fromisoformat(self.issued[:-1] + "+00:00")
        except ValueError as e:
            raise _malformed(f"issued {self.issued!r} is not a valid time ({e})") from None
        if not isinstance(self.args, Mapping):
            raise _malformed("args must be an object")
        object.__setattr__(self, "args", _check_args(self.args))

    @property
    def issued_ts(self) -> float:
        return datetime.fromisoformat(self.issued[:-1] + "+00:00").timestamp()

    def to_json(self) -> dict[str, Any]:
        return {
            "v": self.v,
            "alg": self.alg,
            "key_id": self.key_id,
            "issued": self.issued,
            "nonce": self.nonce,
            "gateway": self.gateway,
            "command": self.command,
            "args": dict(self.args),
        }

    def signed_bytes(self) -> bytes:
        return canonical_json(self.to_json())


@dataclass(frozen=True)
class SignedCommand:
    """One envelope: a body and the operator's signature over its canonical JSON."""

    body: CommandBody
    sig: str

    def __post_init__(self) -> None:
        _check_string(self.sig, "sig", _SIG)

    @property
    def key_id(self) -> str:
        return self.body.key_id

    @property
    def nonce(self) -> str:
        return self.body.nonce

    def to_bytes(self) -> bytes:
        return canonical_json({**self.body.to_json(), "sig": self.sig})

    @classmethod
    def parse(cls, payload: bytes | bytearray) -> SignedCommand:
        """The envelope in `payload`; anything else raises `EnvelopeError`, nothing else."""
        if len(payload) > MAX_ENVELOPE_BYTES:
            raise _malformed(f"larger than {MAX_ENVELOPE_BYTES} bytes")
        try:
            obj = json.loads(
                bytes(payload).decode("utf-8"),
                object_pairs_hook=_no_repeats,
                parse_float=_no_float,
                parse_constant=_no_float,
            )
        except (UnicodeDecodeError, ValueError, RecursionError) as e:
            raise _malformed(f"not valid UTF-8 JSON ({_shown(str(e))})") from None
        if not isinstance(obj, dict):
            raise _malformed(f"must be a JSON object, not {type(obj).__name__}")
        key_id = _valid(obj.get("key_id"), _KEY_ID)
        nonce = _valid(obj.get("nonce"), _NONCE)
        if "sig" not in obj:
            detail = "commands must be signed with an operator key: send them with `evgw command`"
            raise EnvelopeError(Refusal(Reason.UNSIGNED, detail, key_id, nonce))
        version = obj.get("v")
        if isinstance(version, int) and not isinstance(version, bool) and version != 1:
            detail = f"envelope version {_shown(version)}; this gateway reads v {FORMAT_VERSION}"
            raise EnvelopeError(Refusal(Reason.UNSUPPORTED_VERSION, detail, key_id, nonce))
        missing, unknown = sorted(FIELDS - obj.keys()), sorted(obj.keys() - FIELDS)
        if missing or unknown:
            detail = f"missing {missing}" if missing else f"unknown fields {_shown(unknown)}"
            raise _malformed(detail, key_id, nonce)
        sig = obj.pop("sig")
        try:
            return cls(CommandBody(**obj), sig)
        except EnvelopeError as e:
            raise _malformed(e.refusal.detail, key_id, nonce) from None


def _valid(value: object, pattern: re.Pattern[str]) -> str | None:
    return value if isinstance(value, str) and pattern.fullmatch(value) else None


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, value in pairs:
        if name in found:
            raise ValueError(f"field {_shown(name)} appears twice")
        found[name] = value
    return found


def _no_float(text: str) -> float:
    raise ValueError(f"number {_shown(text)}: only integers are allowed")


def format_issued(now: float) -> str:
    """`now` as the envelope writes it: UTC, milliseconds, `Z`."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def sign_command(
    signer: Signer,
    *,
    gateway: str,
    command: str,
    args: Mapping[str, ArgValue],
    now: float,
    nonce: str | None = None,
) -> SignedCommand:
    """A new envelope for `command` on `gateway`, signed by the operator key `signer`."""
    body = CommandBody(
        key_id=signer.key_id,
        issued=format_issued(now),
        nonce=nonce or secrets.token_hex(16),
        gateway=gateway,
        command=command,
        args=args,
        alg=signer.alg,
    )
    sig = base64.b64encode(signer.sign(body.signed_bytes())).decode("ascii")
    return SignedCommand(body, sig)
