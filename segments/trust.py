"""Which device key a check trusts: the caller's, or the one a ledger declares about itself.

A ledger's first record (`key`, seq 0) names the key that signs the rest. That proves the
records belong together, never who wrote them: only a key the caller brings proves origin.
"""

from __future__ import annotations

from .errors import CryptoFormatError
from .records import Record
from .signing import Verifier, parse_public_key

KEY_RECORD = "key"


def declared_key(first: Record | None) -> Verifier | None:
    """The key the ledger's `key` record declares; None when the ledger starts otherwise.

    Raises CryptoFormatError when the key record holds no usable public key.
    """
    if first is None or first.kind != KEY_RECORD or first.seq != 0:
        return None
    text = first.extra.get("public_key")
    if not isinstance(text, str | bytes):
        raise CryptoFormatError("the key record names no public key")
    return parse_public_key(text)
