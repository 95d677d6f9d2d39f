"""Write the example configuration from the key declarations.

``python -m gateway.config.example > config/evgw.example.toml``

Each section's comment, each key's help, its type/bounds/default line and its example value
come from the same declarations the loader validates with, so the example documents exactly
what the loader accepts; a test keeps the committed file equal to this output. Only the
introduction and the extra illustrative cameras are written here.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from evgw.config.example import comment, render_section, toml_value
from evgw.config.placeholders import placeholder

from .tables import SECTIONS

INTRODUCTION = """\
evgw example configuration: every key, with its meaning and default.
Generated from the declarations in gateway/config/ by `python -m gateway.config.example`: change \
those, not this file.
Copy to /etc/evgw/evgw.toml and adapt. `evgw run --config FILE` validates the whole file at \
start and refuses to run on any problem, naming the file, the key and the reason; `evgw check \
--config FILE` lists every problem at once. Unknown keys are errors (a typo never silently falls \
back to a default). A relative path is resolved against the folder holding this file; data_dir \
must be absolute.
Values REPLACE-WITH-… are placeholders, never defaults: the gateway refuses to start while any \
is left, and says what belongs there (the archive's age recipient, the store, the broker, the \
cameras).
Camera entries are numbered from 0 in messages: cameras[0] is the first [[cameras]] table."""

EXTRA_CAMERAS: tuple[tuple[str, Mapping[str, Any]], ...] = (
    (
        "A second camera without credentials that keeps its own OSD and uses shorter segments.",
        {
            "id": "store-1",
            "name": "涉案物品库房",
            "rtsp": f"rtsp://{placeholder('CAMERA-ADDRESS')}/stream1",
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
    parts = [comment(INTRODUCTION), *(render_section(s) for s in SECTIONS)]
    parts += [_camera(note, values) for note, values in EXTRA_CAMERAS]
    return "\n\n".join(parts) + "\n"


def _camera(note: str, values: Mapping[str, Any]) -> str:
    lines = [comment(note), "[[cameras]]"]
    lines += [f"{name} = {toml_value(value)}" for name, value in values.items()]
    return "\n".join(lines)


def main() -> None:
    sys.stdout.buffer.write(render().encode("utf-8"))


if __name__ == "__main__":
    main()
