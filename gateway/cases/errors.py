"""Errors of the case services."""

from evgw import exit_codes
from evgw.errors import EvgwError


class ExportError(EvgwError):
    """The export cannot be made (no recording in the range, a segment lost, an identity
    that cannot decrypt); nothing was written. Exit 1, as `evgw find` for the same range."""

    exit_code = exit_codes.NEGATIVE
