"""The zone headquarters' commands show times in: this machine's, with its offset.

The archive's configuration has no time zone key (one archive serves boxes in several zones),
so `archive find`, `verify-box` and `sync` show times as the operator's own clock reads them,
with the offset and a note naming the zone; JSON keeps UTC.
"""

from __future__ import annotations

from evgw.local_time import Zone, machine


def display_zone() -> Zone:
    return machine()
