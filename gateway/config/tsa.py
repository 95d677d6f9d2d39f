"""The ``[tsa]`` section: an RFC 3161 time-stamping authority for every new checkpoint.

Optional: without it no checkpoint is timestamped and nothing else changes. With it, the CA
file is read and parsed here, at start, so a wrong path or a file without a certificate
fails like any other configuration mistake instead of refusing every reply days later.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evgw.config import checks
from evgw.config.checks import Invalid, rule
from evgw.config.fields import Scope, read_table, setting, table
from evgw.config.placeholders import placeholder
from evgw.i18n import _
from segments.timestamp import TimestampError, load_anchors
from uplink.settings import TsaSettings

MAX_CA_FILE_BYTES = 1 << 20


@rule("a dotted object identifier such as 1.2.3.4")
def object_identifier(value: str) -> str:
    if not re.fullmatch(r"[0-2](\.(0|[1-9][0-9]*))+", value):
        reason = _("must be a dotted object identifier (e.g. 1.2.3.4), got {value!r}")
        raise Invalid(reason.format(value=value))
    return value


@table
class TsaTable:
    """``[tsa]`` as written; `tsa_settings` reads the CA file into `TsaSettings`."""

    url: str = setting(
        help="The TSA's RFC 3161 HTTP endpoint. Every new checkpoint's exact bytes are "
        "timestamped through a durable queue: requests wait, retried with backoff, while the "
        "TSA is unreachable, and recording and uploads never wait for them.",
        check=checks.http_url,
        example=placeholder("TSA-URL"),
    )
    ca_file: Path = setting(
        help="PEM file with the TSA's CA certificate chain: a reply must be signed by a "
        "certificate (critical extendedKeyUsage timeStamping) that chains to it; also the CA "
        "for an https url.",
        example="/etc/evgw/tsa-ca.pem",
    )
    timeout_s: float = setting(
        default=30.0,
        help="Seconds to wait for one reply before the TSA counts as unreachable.",
        check=checks.float_range(1, 600),
    )
    policy: str | None = setting(
        default=None,
        help="The TSA policy OID every token must carry (default: whatever policy the TSA uses).",
        check=object_identifier,
        example="1.2.3.4.1",
        commented=True,
    )


def tsa_settings(scope: Scope, raw: Mapping[str, Any]) -> TsaSettings:
    table = read_table(scope, raw, TsaTable)
    try:
        pem = table.ca_file.read_bytes()[:MAX_CA_FILE_BYTES]
    except OSError as e:
        reason = e.strerror or str(e)
        message = _("{path!r}: cannot read: {reason}").format(
            path=str(table.ca_file), reason=reason
        )
        raise scope.error("ca_file", message) from e
    try:
        anchors = load_anchors(pem, str(table.ca_file))
    except TimestampError as e:
        raise scope.error("ca_file", str(e)) from e
    return TsaSettings(table.url, table.ca_file, anchors, table.timeout_s, table.policy)
