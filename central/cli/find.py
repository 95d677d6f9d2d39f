"""`evgw archive find --config central.toml --gateway G --camera C --from T --to T [--json]`.

The box's `find` answer, from the catalogue and the bucket alone: each segment's state and
verdict, the holes, and the checkpoint that pins the range (witnessed or not). Times are shown
in this machine's zone with the offset; `--json` keeps UTC. Exit 0 when the range holds
recording with a passing verdict, 1 when it holds none or the verdict fails, 2 for usage and
configuration mistakes.
"""

from __future__ import annotations

import argparse
import json

from evgw.i18n import _
from evgw.local_time import Zone, show
from segments.case_found import render_find
from segments.verify import EXIT_FAIL, Verdict, exit_code

from ..retrieval.find import ArchiveFind, archive_find
from . import retrieval_args
from .zone import display_zone


def add_arguments(p: argparse.ArgumentParser) -> None:
    retrieval_args.add_range(p)
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))


def run(args: argparse.Namespace) -> int:
    start, end = retrieval_args.time_range(args)
    with retrieval_args.opened(args) as (_config, source):
        found = archive_find(source, args.gateway, args.camera, start, end)
    if args.json:
        print(json.dumps(found.to_dict(), indent=2, ensure_ascii=False))
    else:
        print(render(found, display_zone()))
    result = found.result
    return exit_code(Verdict(result.verdict)) if result.segments else EXIT_FAIL


def render(found: ArchiveFind, zone: Zone | None = None) -> str:
    """The box's find table, then the checkpoint that pins the range; times in `zone`."""
    lines = [render_find(found.result, zone)]
    witness = None if found.pinned is None else found.pinned.witness
    if witness is None:
        lines.append(_("checkpoint: none covers this range yet (the records are not yet pinned)"))
    elif witness["witnessed"]:
        lines.append(
            _("checkpoint: size {size}, witnessed by {name} at {time}").format(
                size=witness["checkpoint_size"],
                name=witness["name"],
                time=show(witness["time"], zone),
            )
        )
    else:
        lines.append(
            _("checkpoint: size {size}, NOT witnessed: {why}").format(
                size=witness["checkpoint_size"], why=witness["why"]
            )
        )
    return "\n".join(lines)
