"""Whether the camera signed a segment: tallied while recording, kept in the record's `extra`.

A `segment` record of a `passthrough` camera carries `extra.camera_signed` (true when at least
one ONVIF Media Signing SEI is in the segment's video) and, when a certificate was in one of
those SEIs, `extra.camera_cert_sha256` (`signing_sei.SigningSei.certificate_sha256`). It is
the camera's claim, kept and recorded by the gateway: evgw does not verify the camera's
signature (the SEIs are in the sealed file for a tool that does).

`burn_in` re-encodes the picture, so no camera signature can survive it: those records carry
neither key (not applicable), never `camera_signed: false`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .signing_sei import h264_sei_prefix, scan

log = logging.getLogger(__name__)

SIGNED = "camera_signed"
CERT_SHA256 = "camera_cert_sha256"
EXTRA_KEYS = frozenset({SIGNED, CERT_SHA256})
_HEX64 = re.compile(r"[0-9a-f]{64}")
NOT_VERIFIED = (
    "the camera's own claim (ONVIF Media Signing SEIs in its video), recorded by the gateway; "
    "evgw does not verify the camera's signature"
)


@dataclass(frozen=True)
class SigningClaim:
    """What a record says of the camera's signatures: None fields mean "not recorded"."""

    signed: bool
    cert_sha256: str | None = None

    def to_extra(self) -> dict[str, object]:
        extra: dict[str, object] = {SIGNED: self.signed}
        if self.cert_sha256 is not None:
            extra[CERT_SHA256] = self.cert_sha256
        return extra

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> SigningClaim | None:
        """The claim in a record's `extra`; None when absent (burn-in, older records) or
        malformed (a ledger not written by evgw: the verifier does not guess)."""
        signed, cert = extra.get(SIGNED), extra.get(CERT_SHA256)
        if not isinstance(signed, bool):
            return None
        if cert is not None and not (isinstance(cert, str) and _HEX64.fullmatch(cert)):
            return None
        return cls(signed, cert)


def check_extra(extra: Mapping[str, object]) -> str | None:
    """Why a segment draft's `extra` is not one a recorder writes, or None when it is."""
    unknown = set(extra) - EXTRA_KEYS
    if unknown:
        return f"a segment's extra holds only {sorted(EXTRA_KEYS)}, not {sorted(unknown)}"
    if extra and SigningClaim.from_extra(extra) is None:
        return f"{SIGNED} must be true or false, {CERT_SHA256} 64 lower-case hex digits"
    if CERT_SHA256 in extra and extra.get(SIGNED) is not True:
        return f"{CERT_SHA256} comes only with {SIGNED} true"
    return None


class SegmentSigning:
    """Tallies one passthrough segment's packets, read in place.

    H.264 costs a walk over the NAL headers before each access unit's first slice (about 2 µs
    per packet) and copies only a leading run that holds an SEI; other codecs (HEVC, whose
    suffix SEIs follow the slices) copy and search the whole packet (about 0.5 µs per kB).
    """

    def __init__(self, codec: str) -> None:
        self._codec = codec
        self.seis = 0
        self.cert_sha256: str | None = None

    def packet(self, view: memoryview) -> None:
        if self._codec == "h264":
            end = h264_sei_prefix(view)
            if not end:
                return
            data = bytes(view[:end])
        else:
            data = bytes(view)
        for sei in scan(data, self._codec):
            self.seis += 1
            cert = sei.certificate_sha256
            if cert is None or cert == self.cert_sha256:
                continue
            if self.cert_sha256 is None:
                self.cert_sha256 = cert
            else:  # the record keeps the first; the file holds both
                log.warning("camera certificate changed within a segment: %s", cert)

    def claim(self) -> SigningClaim:
        return SigningClaim(self.seis > 0, self.cert_sha256)


def summary_lines(claims: Sequence[tuple[int, SigningClaim]]) -> list[str]:
    """For people: runs of segments (by seq, in order) the camera did or did not sign, with
    the certificates seen; nothing when no record holds a claim (burn-in)."""
    if not claims:
        return []
    runs: list[tuple[int, int, bool, list[str]]] = []
    for seq, claim in claims:
        if runs and runs[-1][2] == claim.signed:
            first, _, signed, certs = runs[-1]
            runs[-1] = (first, seq, signed, certs)
        else:
            runs.append((seq, seq, claim.signed, []))
        certs = runs[-1][3]
        if claim.cert_sha256 is not None and claim.cert_sha256 not in certs:
            certs.append(claim.cert_sha256)
    lines = [f"camera signatures: {NOT_VERIFIED}"]
    for first, last, signed, certs in runs:
        seqs = f"segment seq {first}" if first == last else f"segments seq {first}..{last}"
        what = "signed by the camera" if signed else "NOT signed by the camera"
        seen = f"; certificate chain sha256 {', '.join(certs)}" if certs else ""
        lines.append(f"  {seqs}: {what}{seen}")
    return lines
