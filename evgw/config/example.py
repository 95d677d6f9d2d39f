"""An example configuration file written from the key declarations.

Each section's comment, each key's help, its type/bounds/default line and its example value
come from the same declarations the loader validates with, so the example documents exactly
what the loader accepts.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Mapping
from dataclasses import MISSING
from pathlib import Path

from .fields import Key, Section, keys

WIDTH = 96


def render_section(section: Section) -> str:
    header = f"[[{section.name}]]" if section.array else f"[{section.name}]"
    lines = [comment(section.help), header]
    lines += [_key(key) for key in keys(section.declared)]
    return "\n".join(lines)


def _key(key: Key) -> str:
    shown = key.default if key.setting.example is MISSING else key.setting.example
    if shown is MISSING or shown is None:
        raise TypeError(f"{key.name}: declare an example value to show in the example file")
    line = f"{key.name} = {toml_value(shown)}"
    if key.setting.commented:
        line = "\n".join(f"# {part}" for part in line.splitlines())
    return "\n".join([comment(key.setting.help), comment(_facts(key)), line])


def _facts(key: Key) -> str:
    """The key's type, rule and default in one line, e.g. ``Integer, 0..51; default 23.``"""
    what = key.kind.name.capitalize() + (f", {key.rule}" if key.rule else "")
    if key.required:
        return f"{what}; required."
    if key.default is None:
        return f"{what}; optional."
    return f"{what}; default {toml_value(key.default)}."


def comment(text: str) -> str:
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines += textwrap.wrap(paragraph, WIDTH - 2, break_long_words=False, break_on_hyphens=False)
    return "\n".join(f"# {line}" for line in lines)


def toml_value(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 1_000_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        pairs = [
            f"{json.dumps(str(k), ensure_ascii=False)} = {toml_value(v)}" for k, v in value.items()
        ]
        return "{ " + ", ".join(pairs) + " }" if pairs else "{}"
    if isinstance(value, tuple | list):
        items = [toml_value(item) for item in value]
        if len(items) < 2:
            return f"[{', '.join(items)}]"
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"no TOML form for {value!r}")
