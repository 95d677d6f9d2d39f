"""Placeholders of the example file: values that must be replaced before the file is used.

An example that validates is a trap: an installer who edits the cameras but not the archive's
recipient encrypts evidence to a key no one holds, silently. So every value that names a key,
an endpoint or a secret is shown as ``REPLACE-WITH-<WHAT>``, and the loader refuses any value
still holding one, saying what belongs there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..i18n import N_, _

MARK = "REPLACE-WITH-"
_FOUND = re.compile(re.escape(MARK) + r"[A-Z0-9-]*[A-Z0-9]")

WHAT = {
    "ARCHIVE-AGE-RECIPIENT": N_(
        "the central archive's age recipient (age1…, printed by "
        "`evgw keygen --archive` on the archive's machine)"
    ),
    "ESCROW-AGE-RECIPIENT": N_("the offline escrow's age recipient (age1…), or remove it"),
    "OPERATOR-PUBLIC-KEY": N_(
        "an operator's public key (ed25519:…, printed by "
        "`evgw keygen --operator` on the operator's machine), or remove it"
    ),
    "S3-ENDPOINT": N_("the URL of the central store's S3 API"),
    "BUCKET": N_("the bucket of the central store (3-63 of a-z 0-9 . -)"),
    "MQTT-BROKER": N_("the host name or address of the monitoring broker"),
    "TSA-URL": N_("the RFC 3161 URL of your time-stamping authority"),
    "CAMERA-ADDRESS": N_("the camera's address"),
    "CAMERA-PASSWORD": N_("the camera's password (better: password_file)"),
    "SECRET": N_("the secret (better in the matching _file key, so this file holds none)"),
}
_UNKNOWN = N_("a real value")


def placeholder(what: str) -> str:
    """The example's stand-in for `what` (a key of `WHAT`)."""
    assert what in WHAT, what
    return MARK + what


def found_in(value: object) -> str | None:
    """Why `value` cannot be used (it still holds placeholders, each named), or None."""
    texts: Iterable[object] = value if isinstance(value, list | tuple) else (value,)
    found = dict.fromkeys(m.group() for text in texts for m in _FOUND.finditer(str(text)))
    if not found:
        return None
    advice = [
        _("replace {token} with {what}").format(
            token=token, what=_(WHAT.get(token[len(MARK) :], _UNKNOWN))
        )
        for token in found
    ]
    return _("still the example's placeholder: {advice}").format(advice=_("; ").join(advice))
