"""The signed command envelope, format v1: round trip, canonical bytes, and a hostile parser test.

The parser reads bytes anyone on the broker can publish: whatever they are, only
`EnvelopeError` may escape it (hypothesis, plus every prefix of a valid envelope).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.signing import Ed25519Signer
from uplink.signed_command import (
    FIELDS,
    MAX_ENVELOPE_BYTES,
    CommandBody,
    EnvelopeError,
    Reason,
    SignedCommand,
    format_issued,
    sign_command,
)

NOW = 1_795_000_000.0
OPERATOR = Ed25519Signer(Ed25519PrivateKey.from_private_bytes(bytes(range(32))))
ARGS = {"camera": "gate-1", "from": "2026-11-27T06:00:00+00:00", "case": "2026-001", "n": 7}
HOSTILE = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
UNICODE_DIGITS = "²³¹٣۴५௫๖５𝟕"  # str.isdigit() is true for each, int() fails on some


def envelope(**overrides: Any) -> SignedCommand:
    base: dict[str, Any] = {"gateway": "gw-test", "command": "hold", "args": ARGS, "now": NOW}
    return sign_command(OPERATOR, **{**base, **overrides})


def as_object(command: SignedCommand) -> dict[str, Any]:
    return dict(json.loads(command.to_bytes()))


def refusal(payload: bytes) -> Reason:
    with pytest.raises(EnvelopeError) as caught:
        SignedCommand.parse(payload)
    return caught.value.refusal.reason


def test_round_trip_and_canonical_bytes() -> None:
    command = envelope()
    data = command.to_bytes()
    assert SignedCommand.parse(data) == command
    obj = json.loads(data)
    assert set(obj) == FIELDS and obj["v"] == 1 and obj["alg"] == "ed25519"
    assert obj["key_id"] == OPERATOR.key_id and len(obj["nonce"]) == 32
    assert (
        data == json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert (
        command.body.signed_bytes()
        == json.dumps(
            {k: v for k, v in obj.items() if k != "sig"},
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
    )
    spaced = json.dumps(obj, indent=2).encode()  # formatting is not content
    assert SignedCommand.parse(spaced) == command


def test_issued_is_utc_with_milliseconds() -> None:
    assert format_issued(NOW + 0.25) == "2026-11-18T11:06:40.250Z"
    assert envelope().body.issued_ts == pytest.approx(NOW, abs=0.001)


def test_nonces_are_fresh() -> None:
    assert len({envelope().nonce for _ in range(50)}) == 50


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"camera": "gate-1", "case": "x"}', Reason.UNSIGNED),
        (b"{}", Reason.UNSIGNED),
        (b"[]", Reason.MALFORMED),
        (b"\xff\xfe", Reason.MALFORMED),
        (b'{"sig": "x", "v": 2}', Reason.UNSUPPORTED_VERSION),
        (b'{"sig": "x", "v": 1}', Reason.MALFORMED),
        (b"NaN", Reason.MALFORMED),
    ],
)
def test_refusal_reasons_of_the_parser(payload: bytes, reason: Reason) -> None:
    assert refusal(payload) == reason


def test_an_unsigned_envelope_keeps_its_nonce_for_the_reply() -> None:
    obj = as_object(envelope())
    del obj["sig"]
    with pytest.raises(EnvelopeError) as caught:
        SignedCommand.parse(json.dumps(obj).encode())
    assert caught.value.refusal.reason == Reason.UNSIGNED
    assert caught.value.refusal.nonce == obj["nonce"]
    assert caught.value.refusal.key_id == OPERATOR.key_id


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("v", True),
        ("v", "1"),
        ("v", 1.0),
        ("alg", "sm2"),
        ("key_id", "ABCDEF0123456789"),
        ("key_id", "٣" * 16),
        ("nonce", "²" * 32),
        ("nonce", None),
        ("gateway", "gw/other"),
        ("gateway", ""),
        ("command", "Hold"),
        ("command", "hold\n"),
        ("issued", "２０２６-11-27T06:03:00Z"),
        ("issued", "2026-11-27T06:03:00+08:00"),
        ("issued", "2026-02-30T06:03:00Z"),
        ("issued", "2026-11-27T06:03:00.1234567Z"),
        ("args", []),
        ("args", {"Camera": "gate-1"}),
        ("args", {"camera": None}),
        ("args", {"camera": 1.5}),
        ("args", {"camera": ["gate-1"]}),
        ("args", {"camera": {"id": "gate-1"}}),
        ("args", {"case": "x" * 257}),
        ("args", {"case": "line\nbreak"}),
        ("args", {"case": "\u202eevil"}),
        ("args", {"case": "\x1b[2J"}),
        ("args", {"hold_id": 2**53}),
        ("args", {f"a{i}": i for i in range(17)}),
        ("sig", ""),
        ("sig", "A" * 88),
        ("sig", 7),
        ("extra", "field"),
    ],
)
def test_each_field_is_checked(field: str, value: Any) -> None:
    obj = as_object(envelope())
    obj[field] = value
    assert refusal(json.dumps(obj).encode()) == Reason.MALFORMED


def test_repeated_fields_are_refused_at_any_depth() -> None:
    text = envelope().to_bytes().decode()
    twice_nonce = text.replace('"nonce":', '"nonce":"' + "0" * 32 + '","nonce":', 1)
    twice_arg = text.replace('"camera":', '"camera":"gate-2","camera":', 1)
    for payload in (twice_nonce, twice_arg):
        assert refusal(payload.encode()) == Reason.MALFORMED


def test_huge_and_deep_payloads_are_refused() -> None:
    assert refusal(b" " * (MAX_ENVELOPE_BYTES + 1)) == Reason.MALFORMED
    for depth in (10, 1_000, MAX_ENVELOPE_BYTES // 2):
        assert refusal(b"[" * depth + b"]" * depth) == Reason.MALFORMED
        nested = b'{"sig":' * depth + b"1" + b"}" * depth
        assert refusal(nested[:MAX_ENVELOPE_BYTES]) in (
            Reason.MALFORMED,
            Reason.UNSUPPORTED_VERSION,
        )
    assert refusal(b'{"sig": 1, "v": ' + b"9" * 5000 + b"}") == Reason.MALFORMED


def test_every_prefix_of_a_valid_envelope_is_refused() -> None:
    data = envelope().to_bytes()
    for end in range(len(data)):
        with pytest.raises(EnvelopeError):
            SignedCommand.parse(data[:end])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=30,
)
field_values = json_values | st.text(alphabet=UNICODE_DIGITS + "0123456789abcdef-:TZ.", max_size=40)


def _parse_or_refuse(payload: bytes) -> None:
    try:
        command = SignedCommand.parse(payload)
    except EnvelopeError as e:
        assert e.refusal.reason in Reason and len(str(e)) < 600
        return
    assert SignedCommand.parse(command.to_bytes()) == command


@HOSTILE
@given(st.binary(max_size=MAX_ENVELOPE_BYTES + 16))
def test_random_bytes_raise_only_envelope_error(payload: bytes) -> None:
    _parse_or_refuse(payload)


@HOSTILE
@given(json_values)
def test_random_json_raises_only_envelope_error(value: object) -> None:
    _parse_or_refuse(json.dumps(value).encode())


@HOSTILE
@given(st.sampled_from(sorted(FIELDS | {"other"})), field_values, st.booleans())
def test_one_field_replaced_or_dropped(field: str, value: object, drop: bool) -> None:
    obj = as_object(envelope())
    if drop:
        obj.pop(field, None)
    else:
        obj[field] = value
    _parse_or_refuse(json.dumps(obj, ensure_ascii=False).encode())


@HOSTILE
@given(st.dictionaries(st.text(max_size=40), field_values, max_size=20))
def test_random_args(args: dict[str, Any]) -> None:
    obj = as_object(envelope())
    obj["args"] = args
    _parse_or_refuse(json.dumps(obj, ensure_ascii=False).encode())


@HOSTILE
@given(st.data())
def test_cut_repeated_or_spliced_bytes(data: st.DataObject) -> None:
    raw = envelope().to_bytes()
    start = data.draw(st.integers(0, len(raw)))
    end = data.draw(st.integers(start, len(raw)))
    times = data.draw(st.integers(0, 3))
    insert = data.draw(
        st.binary(max_size=20) | st.sampled_from([b"\\u0000", b"\\ud800", b"\xc0\x80"])
    )
    _parse_or_refuse(raw[:start] + raw[start:end] * times + insert + raw[end:])


@HOSTILE
@given(
    st.dictionaries(
        st.from_regex(r"[a-z][a-z0-9_]{0,31}", fullmatch=True),
        st.booleans()
        | st.integers(-(2**53) + 1, 2**53 - 1)
        | st.text(
            st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")),
            max_size=60,
        ).filter(str.isprintable),
        max_size=8,
    )
)
def test_any_valid_args_round_trip(args: dict[str, Any]) -> None:
    command = envelope(args=args)
    parsed = SignedCommand.parse(command.to_bytes())
    assert parsed == command and dict(parsed.body.args) == args


def test_construction_validates_like_parsing() -> None:
    body = envelope().body
    with pytest.raises(EnvelopeError):
        CommandBody(**{**body.to_json(), "gateway": "../x"})
    with pytest.raises(EnvelopeError):
        envelope(args={"case": "\x00"})
