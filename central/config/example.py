"""Write the archive's example configuration from the key declarations.

``python -m central.config.example > config/central.example.toml``

Everything but the introduction comes from the declarations the loader validates with; a
test keeps the committed file equal to this output.
"""

from __future__ import annotations

import sys

from evgw.config.example import comment, render_section

from .tables import SECTIONS

INTRODUCTION = """\
evgw central archive example configuration: every key, with its meaning and default.
Generated from the declarations in central/config/ by `python -m central.config.example`: change \
those, not this file.
Copy to /etc/evgw-central/central.toml and adapt. `evgw archive sync --config FILE` validates \
the whole file first and refuses to run on any problem, naming the file, the key and the reason. \
Unknown keys are errors. A relative path (also a relative SQLite file) is resolved against the \
folder holding this file."""


def render() -> str:
    """The whole example file."""
    return "\n\n".join([comment(INTRODUCTION), *(render_section(s) for s in SECTIONS)]) + "\n"


def main() -> None:
    sys.stdout.buffer.write(render().encode("utf-8"))


if __name__ == "__main__":
    main()
