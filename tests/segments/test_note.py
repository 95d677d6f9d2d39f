"""C2SP signed notes and cosignature/v1: a published witnessed checkpoint, round trips, hostile
notes."""

from __future__ import annotations

import base64
import contextlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from segments.errors import CryptoFormatError
from segments.note import (
    MAX_NOTE_BYTES,
    CosignatureError,
    NoteSignature,
    SignedNote,
    cosign_text,
    cosignature_key_id,
    open_cosignature,
    parse_note,
)
from segments.signing import Ed25519Signer, Ed25519Verifier

# A real checkpoint of the log arche2025h1.staging.ct.transparency.dev with its own signatures
# and five witnesses' cosignatures, as published in florolf/tlog-scales, tests/test_signing.py
# (TestCheckpointSigning.CHECKPOINT). The witness key of remora.n621.de is the vkey
# `remora.n621.de+da77ade7+BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2` of
# transparency-dev/formats, note/note_cosigv1_test.go (TestCoSigV1NewVerifier): type byte
# 0x04 (cosignature/v1), then the 32-byte Ed25519 key.
PUBLISHED = """\
arche2025h1.staging.ct.transparency.dev
1432088532
U7WM79jrzyhGZ5/GUBTpM7NzwdyfFx61t3RovgcC4Ro=

— arche2025h1.staging.ct.transparency.dev zTM8sQAAAZ5W0WdjBAMARjBEAiBjW5IQf9pvsYLfQFX6hoGREPMHbdQ3urbllzalApkptQIgIpwtEroeW2BXaHAI4kJXFbon5Ch9MNL5zRNZ55lvGt0=
— arche2025h1.staging.ct.transparency.dev ui8GwCF1+kWqZrxGdhj4aX3gcw7XUlXQQabg/27lefwhUkzbC3NygNI75MdhL1bfTW9g8Ei59RA23oHP7Ry1k3ZFWwQ=
— transparency.dev/DEV:witness-little-garden 2AQqhwAAAABqEiEgzgFIqqhbUoDwjMWE6UP8nd8/KYTzwZ2rhIgcqoXHAwVkjZr4AscylP3v7sEodkRAErumC2q44vdgJY096st5BQ==
— witness1.smartit.nu/witness1 pIyCDwAAAABqEiEghIp82KWebrw7/oHQwlTAm3g2RKS4+eebl8eO0WH+/iEcxZ75W3u5hNI7TOQtmJbqmNWVuE0tgh0XwzdZsDsUAQ==
— remora.n621.de 2net5wAAAABqEiEgPlfF3V06o0Y+fHM+J5J9s27wgxxcOVSpZ/2g/KSiXCg9DEZI+aVCIobWX9sXTynk5XeU/zZ0WBxtqB0DrAWfBw==
— witness.stagemole.eu Z/euoAAAAABqEiEgw0i+7g2ENfDAWHmtRzCfKTHSDwYDJA2NmKeGi9Y8FtEyOUvVr+AJmIY/2TUFucgKi7lI7cUiOvKFYe/TmN9DAg==
"""  # noqa: E501
REMORA_VKEY = base64.b64decode("BOvN63jn/bLvkieywe8R6UYAtVtNbZpXh34x7onlmtw2")
REMORA = Ed25519Verifier.from_raw(REMORA_VKEY[1:])
WITNESS = Ed25519Signer(Ed25519PrivateKey.generate())
OTHER = Ed25519Signer(Ed25519PrivateKey.generate())
BODY = "evgw/gw-01/gate-1\n20\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"


def test_the_published_vkey_id_is_ours() -> None:
    assert REMORA_VKEY[0] == 0x04
    assert cosignature_key_id("remora.n621.de", REMORA_VKEY[1:]).hex() == "da77ade7"


def test_a_published_witness_cosignature_verifies() -> None:
    note = parse_note(PUBLISHED.encode())
    assert note.text == PUBLISHED.split("\n\n")[0] + "\n"
    assert len(note.signatures) == 6
    cosig = open_cosignature(note, REMORA, "remora.n621.de")
    assert cosig.name == "remora.n621.de" and cosig.timestamp == 1779573024
    # Without a name, the line whose key id matches the trusted key under its own name counts;
    # the log's signatures and the other witnesses' are ignored, as the spec requires.
    assert open_cosignature(note, REMORA, None) == cosig
    assert note.to_text() == PUBLISHED


def test_the_published_cosignature_fails_on_another_tree_size() -> None:
    forged = PUBLISHED.replace("1432088532", "1432088531")
    with pytest.raises(CosignatureError, match="does not verify"):
        open_cosignature(parse_note(forged.encode()), REMORA, "remora.n621.de")


def test_cosign_round_trip_and_signed_message() -> None:
    line = cosign_text(BODY, "archive.example.gov/witness", WITNESS, 1_795_759_200)
    note = SignedNote(BODY, (line,))
    text = note.to_text()
    assert text.startswith(BODY + "\n— archive.example.gov/witness ")
    raw = base64.b64decode(text.rsplit(" ", 1)[1])
    assert len(raw) == 4 + 8 + 64
    assert int.from_bytes(raw[4:12], "big") == 1_795_759_200
    message = b"cosignature/v1\ntime 1795759200\n" + BODY.encode()
    assert WITNESS.verifier().verify(message, raw[12:])
    cosig = open_cosignature(parse_note(text.encode()), WITNESS.verifier(), None)
    assert cosig.timestamp == 1_795_759_200


def test_wrong_key_and_wrong_name_are_told_apart() -> None:
    note = SignedNote(BODY, (cosign_text(BODY, "hq/witness", WITNESS, 1),))
    with pytest.raises(CosignatureError, match="no cosignature by the trusted witness key"):
        open_cosignature(note, OTHER.verifier(), "hq/witness")
    with pytest.raises(CosignatureError, match="under witness name 'hq/other'"):
        open_cosignature(note, WITNESS.verifier(), "hq/other")


def test_a_forged_line_under_the_trusted_key_id_rejects_the_note() -> None:
    good = cosign_text(BODY, "hq/witness", WITNESS, 5)
    bad = NoteSignature(good.name, good.key_id, (6).to_bytes(8, "big") + good.sig[8:])
    with pytest.raises(CosignatureError, match="does not verify"):
        open_cosignature(SignedNote(BODY, (good, bad)), WITNESS.verifier(), None)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "no blank line"),
        (BODY.encode(), "no blank line"),
        (BODY.encode() + b"\n", "at least one signature"),
        (BODY.encode() + b"\n- hq AAAAAAA=\n", "is not '"),
        (BODY.encode() + "\n— hq not*base64\n".encode(), "not valid base64"),
        (BODY.encode() + "\n— hq AAAA\n".encode(), "too short"),
        (BODY.encode() + "\n— h+q AAAAAAA=\n".encode(), "contains a space"),
        (b"\xff\n\n", "not UTF-8"),
        (b"a\tb\n\n", "control character"),
        (b"x" * (MAX_NOTE_BYTES + 1), "over"),
    ],
)
def test_malformed_notes_are_refused_with_a_reason(data: bytes, reason: str) -> None:
    with pytest.raises(CryptoFormatError, match=reason):
        parse_note(data)


def test_bad_names_and_timestamps_are_refused() -> None:
    with pytest.raises(CryptoFormatError):
        cosign_text(BODY, "has space", WITNESS, 1)
    with pytest.raises(CryptoFormatError):
        cosign_text(BODY, "hq", WITNESS, -1)
    with pytest.raises(CryptoFormatError):
        cosign_text(BODY, "hq", WITNESS, 1 << 63)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600) | st.text(max_size=300).map(str.encode))
def test_hostile_bytes_only_raise_the_format_error(data: bytes) -> None:
    try:
        note = parse_note(data)
    except CryptoFormatError:
        return
    with contextlib.suppress(CryptoFormatError):
        open_cosignature(note, WITNESS.verifier(), None)
