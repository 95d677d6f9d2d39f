"""Translations of what evgw says to people: `_()` (stdlib gettext, domain `evgw`).

The catalogue is chosen as gettext chooses it, by LANGUAGE, LC_ALL, LC_MESSAGES, then LANG
(`zh_CN.UTF-8` -> `zh_CN`, then `zh`); English when none names one we ship. Records, JSON
and verdict names (AUTHENTIC, NOT_AUTHENTIC) are never translated: tools and courts read them.
argparse's own words ("usage:", "options:") come from the same catalogue.
"""

from __future__ import annotations

import argparse
import functools
import gettext
import io
import os
from pathlib import Path

from .po import mo_bytes, parse_po

DOMAIN = "evgw"
LOCALE_DIR = Path(__file__).parent / "locale"
_ENV = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def _(message: str) -> str:
    """`message` in the reader's language (itself when there is no translation)."""
    return translations().gettext(message)


def N_(message: str) -> str:
    """Marks a constant for the catalogue; it is translated where shown, by `_(CONSTANT)`."""
    return message


def ngettext(singular: str, plural: str, n: int) -> str:
    return translations().ngettext(singular, plural, n)


@functools.cache
def translations() -> gettext.NullTranslations:
    """The catalogue for this process's locale, read once; argparse is pointed at it too."""
    chosen: gettext.NullTranslations = gettext.NullTranslations()
    catalogue = catalogue_path(dict(os.environ))
    if catalogue is not None:
        chosen = gettext.GNUTranslations(io.BytesIO(mo_bytes(parse_po(catalogue.read_text()))))
    argparse._ = chosen.gettext  # type: ignore[attr-defined]
    argparse.ngettext = chosen.ngettext  # type: ignore[attr-defined]
    return chosen


def catalogue_path(env: dict[str, str]) -> Path | None:
    """The `.po` file the environment asks for, or None for English."""
    for name in _ENV:
        value = env.get(name)
        if value:
            for language in value.split(":"):
                for candidate in _candidates(language):
                    path = LOCALE_DIR / candidate / "LC_MESSAGES" / f"{DOMAIN}.po"
                    if path.is_file():
                        return path
            return None
    return None


def _candidates(language: str) -> list[str]:
    """`zh_CN.UTF-8@x` -> `zh_CN`, `zh`; `C` and `POSIX` mean English."""
    bare = language.partition(".")[0].partition("@")[0]
    if bare in ("", "C", "POSIX") or "/" in bare or bare.startswith("."):
        return []
    return [bare, bare.partition("_")[0]] if "_" in bare else [bare]
