"""Write the example configuration from the key declarations.

``python -m gateway.config.example > config/evgw.example.toml``

Each section's comment, each key's help, its type/bounds/default line and its example value
come from the same declarations the loader validates with, so the example documents exactly
what the loader accepts; a test keeps the committed file equal to this output. Only the
introduction and the extra illustrative cameras are written here.
"""

from __future__ import annotations

import json
import sys
import textwrap
from collections.abc import Mapping
from dataclasses import MISSING
from pathlib import Path
from typing import Any

from .fields import Key, keys
from .tables import SECTIONS, Section

WIDTH = 96
INTRODUCTION = """\
evgw example configuration: every key, with its meaning and default.
Generated from the declarations in gateway/config/ by `python -m gateway.config.example`: change \
those, not this file.
Copy to /etc/evgw/evgw.toml and adapt. `evgw run --config FILE` validates the whole file at \
start and refuses to run on any problem, naming the file, the key and the reason. Unknown keys \
are errors (a typo never silently falls back to a default). A relative path is resolved \
against the folder holding this file.
Camera entries are numbered from 0 in messages: cameras[0] is the first [[cameras]] table."""

EXTRA_CAMERAS: tuple[tuple[str, Mapping[str, Any]], ...] = (
    (
        "A second camera without credentials that keeps its own OSD and uses shorter segments.",
        {
            "id": "store-1",
            "name": "涉案物品库房",
            "rtsp": "rtsp://192.0.2.11:554/stream1",
            "location": "某某检查站 涉案物品库房",
            "overlay": "passthrough",
            "segment_seconds": 30,
            "enabled": True,
        },
    ),
    (
        "A camera found by WS-Discovery on the camera network by its serial number.",
        {"id": "yard-1", "name": "停车场", "serial": "SN-0042-YARD", "profile": "MainStream"},
    ),
)


def render() -> str:
    """The whole example file."""
    parts = [_comment(INTRODUCTION), *(render_section(s) for s in SECTIONS)]
    parts += [_camera(comment, values) for comment, values in EXTRA_CAMERAS]
    return "\n\n".join(parts) + "\n"


def render_section(section: Section) -> str:
    header = f"[[{section.name}]]" if section.array else f"[{section.name}]"
    lines = [_comment(section.help), header]
    lines += [_key(key) for key in keys(section.declared)]
    return "\n".join(lines)


def _key(key: Key) -> str:
    shown = key.default if key.setting.example is MISSING else key.setting.example
    if shown is MISSING or shown is None:
        raise TypeError(f"{key.name}: declare an example value to show in the example file")
    line = f"{key.name} = {_toml(shown)}"
    if key.setting.commented:
        line = "\n".join(f"# {part}" for part in line.splitlines())
    return "\n".join([_comment(key.setting.help), _comment(_facts(key)), line])


def _facts(key: Key) -> str:
    """The key's type, rule and default in one line, e.g. ``Integer, 0..51; default 23.``"""
    what = key.kind.name.capitalize() + (f", {key.rule}" if key.rule else "")
    if key.required:
        return f"{what}; required."
    if key.default is None:
        return f"{what}; optional."
    return f"{what}; default {_toml(key.default)}."


def _camera(comment: str, values: Mapping[str, Any]) -> str:
    lines = [_comment(comment), "[[cameras]]"]
    lines += [f"{name} = {_toml(value)}" for name, value in values.items()]
    return "\n".join(lines)


def _comment(text: str) -> str:
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines += textwrap.wrap(paragraph, WIDTH - 2, break_long_words=False, break_on_hyphens=False)
    return "\n".join(f"# {line}" for line in lines)


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:_}" if abs(value) >= 1_000_000 else str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, tuple | list):
        items = [_toml(item) for item in value]
        if len(items) < 2:
            return f"[{', '.join(items)}]"
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"no TOML form for {value!r}")


def main() -> None:
    sys.stdout.buffer.write(render().encode("utf-8"))


if __name__ == "__main__":
    main()
