"""Errors of the case services."""

from evgw.errors import EvgwError


class ExportError(EvgwError):
    """The export cannot be made; nothing was written."""
