"""age v1: interop with the stock age tool, truncation recovery, tamper reports, fuzzing."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import subprocess
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segments.age import (
    CHUNK_SIZE,
    ENC_CHUNK_SIZE,
    STREAM_NONCE_SIZE,
    Header,
    HeaderTruncatedError,
    encode_stanza,
    parse_header,
)
from segments.age_reader import DecryptResult, DecryptStatus, decrypt_file, decrypt_stream
from segments.age_writer import AgeWriter, encrypt_file
from segments.agekeys import (
    Stanza,
    X25519Identity,
    b64encode_raw,
    bech32_decode,
    bech32_encode,
    generate_identity,
    parse_identities,
    parse_identity,
    parse_recipient,
    parse_recipients,
    recipient_of,
)
from segments.errors import CryptoFormatError

AGE = "/usr/bin/age"
needs_age = pytest.mark.skipif(
    not os.path.exists(AGE) or shutil.which("age-keygen") is None,
    reason="stock age tool missing: apt-get install age",
)
E = ENC_CHUNK_SIZE
SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 5]

# Made with age 1.1.1: `printf 'evgw test vector\n' | age -r age169j2…` for this identity.
VECTOR_IDENTITY = "AGE-SECRET-KEY-1U6900LJZJN7XMRCJ0HGW89262MZEVJEPMW0LGZR082HGPT2F8KUSU3NR7U"
VECTOR_RECIPIENT = "age169j29950fnla783xr49ca5mnzl9p0ld0f4muszyhdtxr8a7qesxsrv3v7m"
VECTOR_FILE = base64.b64decode(
    "YWdlLWVuY3J5cHRpb24ub3JnL3YxCi0+IFgyNTUxOSA4Q3d3dFE3U2VndHFCZnNxaW9HS1U3NU4x"
    "a3l6Y0ZPaGNRUHNWQ3hOcVVzCnc4T0dpRi95ZndwajN0aVBBKytscEZJczI1M2ZuaXh5OTBkaFZY"
    "d1REMGsKLS0tIG9ObDJKL3B4V1BMZ3daeXhCdmQwcVBlRUFCR21QLy9zOHJidVJrZ1VBb3MKSzd1"
    "+GPeFlQuZPDs35LqiqrwoeJANACAQ6TbQ+dSEMGIMdDkuQiuKkrIfpb+SaqnNA=="
)


def _data(n: int) -> bytes:
    return hashlib.shake_256(n.to_bytes(8, "big")).digest(n) if n else b""


def _keyfile(tmp_path: Path, text: str, name: str = "key.txt") -> Path:
    path = tmp_path / name
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    assert path.stat().st_mode & 0o777 == 0o600
    return path


def _encrypt(data: bytes, *recipients: str) -> bytes:
    out = io.BytesIO()
    with AgeWriter(out, [parse_recipient(r) for r in recipients]) as w:
        w.write(data)
    return out.getvalue()


def _decrypt(blob: bytes, identity: str, **kw: bool) -> tuple[bytes, DecryptResult]:
    out = io.BytesIO()
    result = decrypt_stream(io.BytesIO(blob), out, [parse_identity(identity)], **kw)
    return out.getvalue(), result


def _age(*args: str, stdin: bytes) -> bytes:
    proc = subprocess.run([AGE, *args], input=stdin, capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout


@pytest.fixture(scope="module")
def keys() -> tuple[str, str]:
    return generate_identity()


# --- keys ---


def test_generated_keys_have_age_text_forms() -> None:
    identity, recipient = generate_identity()
    assert identity.startswith("AGE-SECRET-KEY-1") and identity.isupper() and len(identity) == 74
    assert recipient.startswith("age1") and len(recipient) == 62
    assert recipient_of(identity) == recipient
    assert recipient_of(parse_identity(identity)) == recipient
    assert "SECRET" not in repr(parse_identity(identity))


def test_published_vector_keys() -> None:
    assert recipient_of(VECTOR_IDENTITY) == VECTOR_RECIPIENT
    assert str(parse_identity(VECTOR_IDENTITY)) == VECTOR_IDENTITY
    assert str(parse_recipient(VECTOR_RECIPIENT)) == VECTOR_RECIPIENT


@needs_age
def test_age_keygen_identity_file_parses(tmp_path: Path) -> None:
    key = tmp_path / "k.txt"
    subprocess.run(["age-keygen", "-o", str(key)], capture_output=True, check=True)
    expected = subprocess.run(
        ["age-keygen", "-y", str(key)], capture_output=True, check=True, text=True
    ).stdout.strip()
    text = key.read_text()
    assert text.startswith("# created")
    assert recipient_of(parse_identity(text)) == expected


def test_identity_file_with_comments_and_several_keys() -> None:
    (a, ra), (b, rb) = generate_identity(), generate_identity()
    text = f"# first\n\n{a}\n  # second\n{b}\r\n"
    assert [recipient_of(i) for i in parse_identities(text)] == [ra, rb]
    with pytest.raises(CryptoFormatError, match="exactly one"):
        parse_identity(text)
    assert [str(r) for r in parse_recipients(f"# archive\n{ra}\n\n{rb}\n")] == [ra, rb]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no recipient"),
        ("ssh-ed25519 AAAAC3Nza", "SSH"),
        (VECTOR_RECIPIENT.upper()[:10] + VECTOR_RECIPIENT[10:], "mixes"),
        (VECTOR_RECIPIENT[:-1] + "q", "checksum"),
        (VECTOR_RECIPIENT.replace("age1", "agx1"), "checksum"),
        (VECTOR_RECIPIENT[:20], "checksum"),
        ("age1" + "b" * 60, "alphabet|checksum"),
        (VECTOR_IDENTITY, "not an X25519 age recipient"),
        (bech32_encode("age", bytes(31)), "32 bytes"),
    ],
)
def test_bad_recipients_are_rejected_clearly(text: str, message: str) -> None:
    with pytest.raises(CryptoFormatError, match=message):
        parse_recipients(text) if not text else parse_recipient(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# only a comment\n", "no identity"),
        (VECTOR_RECIPIENT, "not an X25519 age identity"),
        (VECTOR_IDENTITY.lower(), "not an X25519 age identity"),
        (VECTOR_IDENTITY[:-2] + "QQ", "checksum"),
    ],
)
def test_bad_identities_are_rejected_clearly(text: str, message: str) -> None:
    with pytest.raises(CryptoFormatError, match=message):
        parse_identity(text)


@given(st.binary(max_size=64))
def test_bech32_round_trip(data: bytes) -> None:
    assert bech32_decode(bech32_encode("age", data)) == ("age", data)
    assert bech32_decode(bech32_encode("AGE-SECRET-KEY-", data)) == ("AGE-SECRET-KEY-", data)


# --- interop with the stock age tool ---


def test_published_vector_decrypts() -> None:
    plain, result = _decrypt(VECTOR_FILE, VECTOR_IDENTITY)
    assert plain == b"evgw test vector\n"
    assert result.complete and result.reason is DecryptStatus.COMPLETE


@needs_age
@pytest.mark.parametrize("size", SIZES)
def test_ours_decrypts_with_age(tmp_path: Path, keys: tuple[str, str], size: int) -> None:
    identity, recipient = keys
    key = _keyfile(tmp_path, f"# test key\n{identity}\n")
    data = _data(size)
    assert _age("-d", "-i", str(key), stdin=_encrypt(data, recipient)) == data


@needs_age
@pytest.mark.parametrize("size", SIZES)
def test_age_output_decrypts_with_ours(tmp_path: Path, keys: tuple[str, str], size: int) -> None:
    identity, recipient = keys
    key = _keyfile(tmp_path, identity + "\n")
    data = _data(size)
    for blob in (_age("-r", recipient, stdin=data), _age("-e", "-i", str(key), stdin=data)):
        plain, result = _decrypt(blob, identity)
        assert plain == data
        assert result.complete
        assert result.plaintext_size == size
        assert result.plaintext_sha256 == hashlib.sha256(data).hexdigest()


@needs_age
def test_two_recipients_each_identity_decrypts(tmp_path: Path) -> None:
    (a, ra), (b, rb) = generate_identity(), generate_identity()
    data = _data(CHUNK_SIZE + 7)
    blob = _encrypt(data, ra, rb)
    for name, identity in (("a.txt", a), ("b.txt", b)):
        assert _age("-d", "-i", str(_keyfile(tmp_path, identity, name)), stdin=blob) == data
        assert _decrypt(blob, identity)[0] == data
    assert _decrypt(_age("-r", ra, "-r", rb, stdin=data), b)[0] == data


def test_wrong_identity_is_a_clear_error(keys: tuple[str, str]) -> None:
    other, _ = generate_identity()
    blob = _encrypt(b"secret", keys[1])
    for allow in (False, True):
        with pytest.raises(CryptoFormatError, match="no identity matches"):
            _decrypt(blob, other, allow_truncated=allow)


def test_file_helpers_round_trip(tmp_path: Path, keys: tuple[str, str]) -> None:
    data = _data(2 * CHUNK_SIZE + 3)
    (tmp_path / "plain").write_bytes(data)
    stats = encrypt_file(tmp_path / "plain", tmp_path / "c.age", [parse_recipient(keys[1])])
    cipher = (tmp_path / "c.age").read_bytes()
    assert stats.plaintext_size == len(data) and stats.chunks == 3
    assert stats.plaintext_sha256 == hashlib.sha256(data).hexdigest()
    assert stats.ciphertext_sha256 == hashlib.sha256(cipher).hexdigest()
    assert stats.ciphertext_size == len(cipher)
    result = decrypt_file(tmp_path / "c.age", tmp_path / "out", [parse_identity(keys[0])])
    assert result.complete and (tmp_path / "out").read_bytes() == data


# --- writer behaviour ---


def test_writer_streams_small_writes_and_counts(keys: tuple[str, str]) -> None:
    data = _data(3 * CHUNK_SIZE + 5)
    out = io.BytesIO()
    w = AgeWriter(out, [parse_recipient(keys[1])])
    assert w.writable() and not w.seekable() and not w.readable()
    assert out.getvalue() == b""  # the constructor does no I/O
    for i in range(0, len(data), 1000):
        w.write(memoryview(data)[i : i + 1000])
        assert len(w._buf) <= CHUNK_SIZE
    assert w.plaintext_size == len(data)
    w.close()
    w.close()  # idempotent
    assert not out.closed
    assert w.plaintext_sha256 == hashlib.sha256(data).hexdigest()
    assert w.stats.chunks == 4
    assert _decrypt(out.getvalue(), keys[0])[0] == data
    with pytest.raises(ValueError):
        w.write(b"x")


def test_full_final_chunk_is_flagged_last(keys: tuple[str, str]) -> None:
    blob = _encrypt(_data(2 * CHUNK_SIZE), keys[1])
    header, used = parse_header(blob)
    assert len(blob) - used - STREAM_NONCE_SIZE == 2 * ENC_CHUNK_SIZE  # no empty extra chunk
    assert len(header.stanzas) == 1


@pytest.mark.parametrize("how", ["abort", "exception", "garbage"])
def test_unfinished_writer_leaves_a_truncated_file(keys: tuple[str, str], how: str) -> None:
    data = _data(2 * CHUNK_SIZE + 10)
    out = io.BytesIO()
    w = AgeWriter(out, [parse_recipient(keys[1])])
    if how == "abort":
        w.write(data)
        w.abort()
    elif how == "exception":
        with pytest.raises(RuntimeError), w:
            w.write(data)
            raise RuntimeError("muxer failed")
    else:
        w.write(data)
        del w
    plain, result = _decrypt(out.getvalue(), keys[0], allow_truncated=True)
    assert result.reason is DecryptStatus.TRUNCATED
    assert plain == data[: 2 * CHUNK_SIZE]


def test_pyav_muxes_fragmented_mp4_into_writer(keys: tuple[str, str], tmp_path: Path) -> None:
    out = io.BytesIO()
    with AgeWriter(out, [parse_recipient(keys[1])]) as sink:
        container = av.open(
            sink, mode="w", format="mp4", options={"movflags": "frag_keyframe+empty_moov"}
        )
        stream = container.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(20):
            img = np.full((48, 64, 3), i * 10, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 10)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
        container.close()
    plain, result = _decrypt(out.getvalue(), keys[0])
    assert result.complete and sink.plaintext_size == len(plain)
    (tmp_path / "v.mp4").write_bytes(plain)
    with av.open(str(tmp_path / "v.mp4")) as media:
        assert sum(1 for _ in media.decode(video=0)) == 20


# --- truncation and tampering ---


@pytest.fixture(scope="module")
def big(keys: tuple[str, str]) -> tuple[bytes, bytes, int]:
    """(plaintext of 3 full chunks + 5 bytes, its encryption, offset of the first chunk)."""
    data = _data(3 * CHUNK_SIZE + 5)
    blob = _encrypt(data, keys[1])
    return data, blob, parse_header(blob)[1] + STREAM_NONCE_SIZE


@pytest.mark.parametrize(
    ("cut", "chunks_kept", "reason"),
    [
        (lambda p, end: 0, 0, DecryptStatus.HEADER_TRUNCATED),
        (lambda p, end: 10, 0, DecryptStatus.HEADER_TRUNCATED),
        (lambda p, end: p - 20, 0, DecryptStatus.HEADER_TRUNCATED),
        (lambda p, end: p - 16, 0, DecryptStatus.TRUNCATED),
        (lambda p, end: p - 3, 0, DecryptStatus.TRUNCATED),
        (lambda p, end: p, 0, DecryptStatus.TRUNCATED),
        (lambda p, end: p + 100, 0, DecryptStatus.TRUNCATED),
        (lambda p, end: p + E, 1, DecryptStatus.TRUNCATED),
        (lambda p, end: p + E + 1, 1, DecryptStatus.TRUNCATED),
        (lambda p, end: p + 3 * E - 1, 2, DecryptStatus.TRUNCATED),
        (lambda p, end: p + 3 * E, 3, DecryptStatus.TRUNCATED),
        (lambda p, end: end - 1, 3, DecryptStatus.TRUNCATED),
    ],
    ids=["0", "10", "p-20", "p-16", "p-3", "p", "p+100", "p+E", "p+E+1", "p+3E-1", "p+3E", "end-1"],
)
def test_truncated_file_yields_authenticated_prefix(
    keys: tuple[str, str],
    big: tuple[bytes, bytes, int],
    cut: Callable[[int, int], int],
    chunks_kept: int,
    reason: DecryptStatus,
) -> None:
    data, blob, p = big
    cut_blob = blob[: cut(p, len(blob))]
    plain, result = _decrypt(cut_blob, keys[0], allow_truncated=True)
    assert plain == data[: chunks_kept * CHUNK_SIZE]
    assert not result.complete and result.reason is reason
    assert result.chunks == chunks_kept
    with pytest.raises(CryptoFormatError):
        _decrypt(cut_blob, keys[0])


@needs_age
def test_flipped_byte_in_middle_chunk_is_tampering(
    tmp_path: Path, keys: tuple[str, str], big: tuple[bytes, bytes, int]
) -> None:
    data, blob, p = big
    bad = bytearray(blob)
    bad[p + ENC_CHUNK_SIZE + 500] ^= 0x01
    plain, result = _decrypt(bytes(bad), keys[0], allow_truncated=True)
    assert result.reason is DecryptStatus.CORRUPT and not result.complete
    assert "chunk 1" in result.detail
    assert plain == data[:CHUNK_SIZE]
    with pytest.raises(CryptoFormatError, match="altered"):
        _decrypt(bytes(bad), keys[0])
    key = _keyfile(tmp_path, keys[0])
    proc = subprocess.run([AGE, "-d", "-i", str(key)], input=bytes(bad), capture_output=True)
    assert proc.returncode != 0  # the stock tool agrees the file is bad


def test_swapped_chunks_are_tampering(keys: tuple[str, str], big: tuple[bytes, bytes, int]) -> None:
    _, blob, p = big
    e = ENC_CHUNK_SIZE
    swapped = blob[:p] + blob[p + e : p + 2 * e] + blob[p : p + e] + blob[p + 2 * e :]
    _, result = _decrypt(swapped, keys[0], allow_truncated=True)
    assert result.reason is DecryptStatus.CORRUPT and result.chunks == 0


def test_trailing_data_is_reported(keys: tuple[str, str], big: tuple[bytes, bytes, int]) -> None:
    data = _data(2 * CHUNK_SIZE)  # a full-length last chunk: its end is known
    blob = _encrypt(data, keys[1])
    plain, result = _decrypt(blob + b"x", keys[0], allow_truncated=True)
    assert plain == data and result.reason is DecryptStatus.TRAILING_DATA
    with pytest.raises(CryptoFormatError, match="follows the last chunk"):
        _decrypt(blob + b"x", keys[0])
    # After a short last chunk the extra byte hides where it ended: never complete, though.
    _, result = _decrypt(big[1] + b"x", keys[0], allow_truncated=True)
    assert not result.complete


def test_altered_header_always_raises(keys: tuple[str, str]) -> None:
    (_, other) = generate_identity()
    blob = _encrypt(b"evidence", keys[1], other)
    header, used = parse_header(blob)
    # Drop the second stanza but keep the MAC: only the MAC can catch it.
    forged = Header(header.stanzas[:1], header.mac).to_bytes() + blob[used:]
    for allow in (False, True):
        with pytest.raises(CryptoFormatError, match="MAC"):
            _decrypt(forged, keys[0], allow_truncated=allow)


# --- header parser ---


def _valid_header(keys: tuple[str, str]) -> bytes:
    blob = _encrypt(b"", keys[1])
    return blob[: parse_header(blob)[1]]


@pytest.mark.parametrize("size", [0, 1, 47, 48, 49, 96, 200])
def test_stanza_body_wrapping_round_trips(size: int) -> None:
    stanza = Stanza("test-type", ("a", "b=c"), os.urandom(size))
    encoded = encode_stanza(stanza)
    lines = encoded.split(b"\n")[1:-1]
    assert all(len(line) == 64 for line in lines[:-1]) and len(lines[-1]) < 64
    header = Header((stanza,), bytes(32))
    assert parse_header(header.to_bytes() + b"payload") == (header, len(header.to_bytes()))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda h: h.replace(b"\n---", b"\r\n---"), "non-printable"),
        (lambda h: b"age-encryption.org/v2\n" + h.split(b"\n", 1)[1], "unsupported age version"),
        (lambda h: b"-----BEGIN AGE ENCRYPTED FILE-----\n", "armored"),
        (lambda h: b"hello world\n", "not an age file"),
        (lambda h: h.replace(b"\n-> X25519", b"\n->X25519"), "expected a '-> '"),
        (lambda h: h.replace(b"-> X25519 ", b"-> X25519  "), "empty argument"),
        (lambda h: h[: h.index(b"---")] + b"--- AAAA\n", "32 bytes"),
        (lambda h: h[: h.index(b"---")] + b"---\n", "malformed header MAC"),
        (lambda h: h.replace(b"\n---", b"=\n---"), "base64"),
        (lambda h: h.split(b"\n", 1)[0] + b"\n--- " + h.rsplit(b" ", 1)[1], "no recipient"),
        (lambda h: h.replace(b"-> X25519", b"-> X25519 " + b"a" * 70_000), "larger than"),
    ],
)
def test_header_parser_rejects_malformed(
    keys: tuple[str, str], mutate: object, message: str
) -> None:
    bad = mutate(_valid_header(keys))  # type: ignore[operator]
    with pytest.raises(CryptoFormatError, match=message):
        parse_header(bad)


def test_header_parser_limits() -> None:
    stanza = encode_stanza(Stanza("x", (), b""))
    too_many = b"age-encryption.org/v1\n" + stanza * 21 + b"--- " + b"A" * 43 + b"\n"
    with pytest.raises(CryptoFormatError, match="more than 20"):
        parse_header(too_many)
    endless_body = b"age-encryption.org/v1\n-> x\n" + (b"A" * 64 + b"\n") * 2000
    with pytest.raises(CryptoFormatError, match="larger than"):
        parse_header(endless_body)
    with pytest.raises(HeaderTruncatedError):
        parse_header(b"age-encryption.org/v1\n-> x\n")
    long_line = b"A" * 65 + b"\n"
    with pytest.raises(CryptoFormatError, match="longer than 64"):
        parse_header(b"age-encryption.org/v1\n-> x\n" + long_line)
    non_canonical = b"age-encryption.org/v1\n-> x\nAB\n--- " + b"A" * 43 + b"\n"
    with pytest.raises(CryptoFormatError, match="non-canonical"):
        parse_header(non_canonical)


def test_x25519_stanza_shape_is_checked(keys: tuple[str, str]) -> None:
    identity = parse_identity(keys[0])
    for stanza in (
        Stanza("X25519", (), bytes(32)),
        Stanza("X25519", ("AAAA",), bytes(32)),
        Stanza("X25519", (b64encode_raw(bytes(32)),), bytes(32)),  # low-order point
        Stanza("X25519", (b64encode_raw(os.urandom(32)),), bytes(31)),
    ):
        with pytest.raises(CryptoFormatError):
            identity.unwrap(stanza)
    assert isinstance(identity, X25519Identity)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=600))
def test_header_parser_fuzz_raises_only_crypto_format_error(data: bytes) -> None:
    for candidate in (
        data,
        b"age-encryption.org/v1\n" + data,
        b"age-encryption.org/v1\n-> " + data,
    ):
        try:
            header, used = parse_header(candidate)
        except CryptoFormatError:
            continue
        assert header.to_bytes() == candidate[:used]  # accepted headers are canonical


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_mutated_files_raise_or_report(keys: tuple[str, str], data: st.DataObject) -> None:
    blob = bytearray(_encrypt(_data(300), keys[1]))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(blob) - 1))
        blob[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(blob)))
    try:
        plain, result = _decrypt(bytes(blob[:cut]), keys[0], allow_truncated=True)
    except CryptoFormatError:
        return
    assert plain == _data(300)[: len(plain)]  # only authenticated plaintext comes out
    if not result.complete:
        assert result.reason is not DecryptStatus.COMPLETE
