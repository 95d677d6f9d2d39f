"""A camera that signs its video, for the tests and the demo: H.264 with Media Signing SEIs.

Encodes a short moving picture with libx264 (an access unit delimiter opens each access unit,
SPS/PPS before each keyframe) and inserts ONVIF-Media-Signing-style SEIs before the slices of
chosen access units: a certificate SEI (a fake PEM chain in the `CERTIFICATES_TAG`) in the
first, and a signing SEI in each signed one. The signatures are fake: evgw never verifies
them, it keeps them byte for byte and records that they were there. Their bytes include
`00 00 0x` runs, so emulation prevention is exercised. The file (Annex B, 4-byte start codes)
is what `rtsp_server.py --file-mount NAME:PATH@FPS` serves in a loop.

Example::

    python3 -m testbeds.signed_stream signed.h264 --seconds 2 --unsigned-from 1.0
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from segments.signing_sei import MEDIA_SIGNING_UUID, USER_DATA_UNREGISTERED, is_sei, nal_units

START_CODE = b"\x00\x00\x00\x01"
GENERAL_TAG, SIGNATURE_TAG, CERTIFICATES_TAG = 1, 3, 6
FAKE_CHAIN = (
    b"-----BEGIN CERTIFICATE-----\n"
    + b"TUlJQmZha2VDYW1lcmFMZWFmQ2VydGlmaWNhdGVGb3JUZXN0cw==\n" * 4
    + b"-----END CERTIFICATE-----\n"
)


@dataclass(frozen=True)
class Syntax:
    """What differs between H.264 and H.265 here: encoder, NAL header, which units are what."""

    codec: str  # PyAV's decoder and raw format name
    encoder: str
    params: str  # the encoder's option holding its own parameters
    sei_header: bytes  # H.265: a prefix SEI (type 39), as the ONVIF reference signer writes
    aud: int
    vcl: range

    def nal_type(self, nal: bytes) -> int:
        return nal[0] & 0x1F if self.codec == "h264" else (nal[0] >> 1) & 0x3F


H264 = Syntax("h264", "libx264", "x264-params", b"\x06", 9, range(1, 6))
H265 = Syntax("hevc", "libx265", "x265-params", b"\x4e\x01", 35, range(32))


@dataclass(frozen=True)
class SignedStream:
    """The access units as served, and the SEI NAL units (header first) inserted, in order."""

    units: tuple[bytes, ...]
    seis: tuple[bytes, ...]
    fps: int
    syntax: Syntax = H264

    def write(self, path: Path) -> Path:
        path.write_bytes(b"".join(self.units))
        return path


def tlv(tag: int, value: bytes) -> bytes:
    return bytes([tag]) + len(value).to_bytes(2, "big") + value


def escape(rbsp: bytes) -> bytes:
    """Emulation prevention: a 0x03 after any two zero bytes followed by a byte <= 3."""
    out = bytearray()
    zeros = 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def signing_sei(tlvs: bytes, certificate: bool = False, syntax: Syntax = H264) -> bytes:
    """An SEI NAL unit (header first) with one Media Signing message."""
    reserved = (0x80 if certificate else 0) | 0x40  # certificate SEI flag, epb applied
    body = MEDIA_SIGNING_UUID + bytes([reserved]) + tlvs
    size = len(body)
    coded_size = b"\xff" * (size // 255) + bytes([size % 255])
    rbsp = bytes([USER_DATA_UNREGISTERED]) + coded_size + body + b"\x80"
    return syntax.sei_header + escape(rbsp)


def certificate_sei(chain: bytes = FAKE_CHAIN, syntax: Syntax = H264) -> bytes:
    return signing_sei(tlv(CERTIFICATES_TAG, b"\x01\x00" + chain), True, syntax)


def document_sei(counter: int, syntax: Syntax = H264) -> bytes:
    """A signing SEI whose fake hash and signature hold runs of zeros (escaped on the wire)."""
    general = b"\x02" + counter.to_bytes(4, "big") + b"\x00\x00\x00\x01\x00\x00\x03" * 3
    signature = b"\x30\x45" + b"\x00\x00\x02" * 8 + counter.to_bytes(4, "big") * 8
    return signing_sei(tlv(GENERAL_TAG, general) + tlv(SIGNATURE_TAG, signature), False, syntax)


def encode(
    width: int, height: int, fps: int, frames: int, syntax: Syntax = H264
) -> list[list[bytes]]:
    """Access units as lists of NAL units (no start codes): a moving bar, 1 s GOP, no B."""
    out = io.BytesIO()
    params = f"aud=1:repeat-headers=1:keyint={fps}:min-keyint={fps}:bframes=0"
    if syntax is H265:
        params += ":log-level=error:info=0"
    with av.open(out, "w", format=syntax.codec) as container:
        stream = container.add_stream(
            syntax.encoder,
            rate=fps,
            options={"preset": "ultrafast", "tune": "zerolatency", syntax.params: params},
        )
        assert isinstance(stream, av.VideoStream)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            picture = np.full((height, width, 3), 40, np.uint8)
            x = (i * 8) % max(1, width - 16)
            picture[:, x : x + 16] = (250, 200, 30)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return _access_units(out.getvalue(), syntax)


def _access_units(data: bytes, syntax: Syntax) -> list[list[bytes]]:
    units: list[list[bytes]] = []
    for chunk in data.split(b"\x00\x00\x01"):
        nal = chunk.rstrip(b"\x00")
        if not nal:
            continue
        if syntax.nal_type(nal) == syntax.aud or not units:  # a delimiter opens each unit
            units.append([])
        units[-1].append(nal)
    return units


def signed_stream(
    width: int = 320,
    height: int = 240,
    fps: int = 25,
    seconds: float = 2.0,
    unsigned_from: float | None = None,
    syntax: Syntax = H264,
) -> SignedStream:
    """Every access unit signed (the first also carries the certificate SEI) until
    `unsigned_from` seconds, none after: a camera whose signing stops."""
    frames = round(seconds * fps)
    last_signed = frames if unsigned_from is None else round(unsigned_from * fps)
    units, seis = [], []
    for i, nals in enumerate(encode(width, height, fps, frames, syntax)):
        added = [certificate_sei(syntax=syntax)] if i == 0 else []
        added += [document_sei(i, syntax)] if i < last_signed else []
        first_slice = next(k for k, nal in enumerate(nals) if syntax.nal_type(nal) in syntax.vcl)
        nals = nals[:first_slice] + added + nals[first_slice:]
        units.append(b"".join(START_CODE + nal for nal in nals))
        seis += added
    return SignedStream(tuple(units), tuple(seis), fps, syntax)


def signing_nals(packet: bytes, length_prefixed: bool, codec: str = "h264") -> list[bytes]:
    """The SEI NAL units holding the Media Signing UUID in one packet, as stored, in order."""
    nals = (packet[a:b] for a, b in nal_units(packet, length_prefixed))
    return [nal for nal in nals if is_sei(nal, codec) and MEDIA_SIGNING_UUID in nal]


def write_ts(stream: SignedStream, path: Path) -> Path:
    """The same access units in MPEG-TS with timestamps (as a file a recorder can read)."""
    with (
        av.open(io.BytesIO(b"".join(stream.units)), "r", format=stream.syntax.codec) as src,
        av.open(str(path), "w", format="mpegts") as out,
    ):
        video_in = src.streams.video[0]
        video_out = out.add_stream_from_template(video_in)
        video_out.time_base = Fraction(1, 90000)
        for i, packet in enumerate(p for p in src.demux(video_in) if p.size):
            packet.pts = packet.dts = i * 90000 // stream.fps
            packet.time_base = video_out.time_base
            packet.stream = video_out
            out.mux(packet)
    return path


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--size", default="320x240")
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--seconds", type=float, default=2.0)
    p.add_argument("--unsigned-from", type=float, help="seconds after which SEIs stop")
    p.add_argument("--hevc", action="store_true", help="H.265 (prefix SEIs) instead of H.264")
    args = p.parse_args(argv)
    width, height = (int(n) for n in args.size.split("x"))
    syntax = H265 if args.hevc else H264
    stream = signed_stream(width, height, args.fps, args.seconds, args.unsigned_from, syntax)
    print(stream.write(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
