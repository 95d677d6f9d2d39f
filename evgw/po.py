"""A gettext `.po` catalogue read into the `.mo` bytes the stdlib's `GNUTranslations` reads.

The catalogue ships as text (no binary in the repository, no `msgfmt` at install): the few
hundred entries are compiled in memory when a translated command starts.
"""

from __future__ import annotations

import ast
import struct

_KEYWORDS = ("msgctxt", "msgid_plural", "msgid", "msgstr")


def parse_po(text: str) -> dict[str, str]:
    """Every translated entry of `text`: msgid (plural forms joined by NUL) to msgstr.

    Untranslated and fuzzy entries are left out, as `msgfmt` leaves them out; the header
    (msgid "") is kept, for its charset and plural forms.
    """
    catalogue: dict[str, str] = {}
    for entry in _entries(text):
        if "fuzzy" in entry.get("flags", ""):
            continue
        msgid = entry.get("msgid")
        if msgid is None:
            continue
        if "msgid_plural" in entry:
            msgid += "\0" + entry["msgid_plural"]
            forms = [entry[k] for k in sorted(k for k in entry if k.startswith("msgstr["))]
            msgstr = "\0".join(forms)
        else:
            msgstr = entry.get("msgstr", "")
        if "msgctxt" in entry:
            msgid = entry["msgctxt"] + "\x04" + msgid
        if msgstr.replace("\0", ""):
            catalogue[msgid] = msgstr
    return catalogue


def _entries(text: str) -> list[dict[str, str]]:
    """The entries of `text` as keyword to string (`flags` holds the `#,` comment)."""
    entries: list[dict[str, str]] = [{}]
    key: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        word = line.partition(" ")[0]
        if line.startswith("#,") or word == "msgid":
            if "msgid" in entries[-1]:
                entries.append({})
            if line.startswith("#,"):
                entries[-1]["flags"] = line[2:]
                continue
        if not line or line.startswith("#"):
            continue
        if line.startswith('"'):
            if key is None:
                raise ValueError(f"a string outside an entry: {raw!r}")
            entries[-1][key] += _unquote(line)
            continue
        if not (word in _KEYWORDS or word.startswith("msgstr[")):
            raise ValueError(f"not a .po line: {raw!r}")
        key = word
        entries[-1][key] = _unquote(line[len(word) :].strip())
    return [e for e in entries if "msgid" in e]


def _unquote(quoted: str) -> str:
    if not (quoted.startswith('"') and quoted.endswith('"')):
        raise ValueError(f"not a quoted string: {quoted!r}")
    value = ast.literal_eval(quoted)
    assert isinstance(value, str)
    return value


def mo_bytes(catalogue: dict[str, str]) -> bytes:
    """`catalogue` in the GNU `.mo` format (little-endian, no hash table)."""
    keys = sorted(catalogue)
    ids = [k.encode("utf-8") for k in keys]
    strs = [catalogue[k].encode("utf-8") for k in keys]
    n = len(keys)
    header_size = 7 * 4
    ids_table = header_size
    strs_table = ids_table + 8 * n
    data = strs_table + 8 * n
    offsets: list[int] = []
    blob = b""
    for b in [*ids, *strs]:
        offsets += [len(b), data + len(blob)]
        blob += b + b"\0"
    head = struct.pack("<7I", 0x950412DE, 0, n, ids_table, strs_table, 0, data)
    return head + struct.pack(f"<{4 * n}I", *offsets) + blob
