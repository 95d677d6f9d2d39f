"""The age recipients a gateway encrypts to: checked as public keys when the file is read."""

from __future__ import annotations

from evgw.config.checks import Invalid, rule
from segments.agekeys import parse_recipient
from segments.errors import CryptoFormatError


@rule("age1… public keys")
def recipient_list(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            parse_recipient(value)
        except CryptoFormatError as e:
            raise Invalid(f"{value[:12]!r}…: {e}") from e
    return tuple(values)
