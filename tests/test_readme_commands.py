"""The README says only what the command line accepts: every `evgw …` line of its code
blocks parses, and its exit-code table is the one in `evgw/exit_codes.py`."""

from __future__ import annotations

import argparse
import re
import shlex

import pytest

from evgw import exit_codes
from gateway.cli.main import build_parser
from tests.support.paths import REPO

README = (REPO / "README.md").read_text(encoding="utf-8")
_COMMAND = re.compile(r"^(?:\$ |sudo )?(?:\S*/)?evgw (.*)$")


def readme_commands() -> list[str]:
    """Every `evgw` command line in the README's code blocks, continuation lines joined."""
    found = []
    for block in re.findall(r"^```[a-z]*\n(.*?)^```", README, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            match = _COMMAND.match(line.strip())
            if match:
                found.append(match.group(1))
    return found


def as_argv(line: str) -> list[str]:
    """The words of a README line: comments dropped, `[optional parts]` taken, `<what>` filled,
    `…` (more of the same) and `[,more…]` list tails left out."""
    line = re.sub(r"\s+#.*$", "", line)
    line = re.sub(r"<[^>]*>", "PLACEHOLDER", line)
    line = re.sub(r"\[,[^\]]*\]", "", line)
    line = line.replace("[", " ").replace("]", " ")
    return [word for word in shlex.split(line) if word != "…"]


def test_the_readme_shows_commands() -> None:
    assert len(readme_commands()) >= 20


@pytest.mark.parametrize("line", readme_commands())
def test_every_readme_command_line_parses(line: str) -> None:
    parser = build_parser()
    try:
        parser.parse_args(as_argv(line))
    except SystemExit as e:
        pytest.fail(f"README: `evgw {line}` does not parse (exit {e.code})")


def test_the_readme_exit_code_table_is_the_one_in_the_code() -> None:
    for code, meaning in exit_codes.table():
        assert f"| {code} | {meaning} |" in README


def _options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string of `parser` and of the sub-commands under it."""
    found: set[str] = set()
    for action in parser._actions:
        found.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _options(sub)
    return found


def test_every_flag_the_readme_names_with_a_command_exists() -> None:
    """Inline mentions (`evgw verify … --tsa-ca`) too: the command exists and has the flag."""
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices
    spans = re.findall(r"`evgw ([^`]+)`", README) + readme_commands()
    wrong = []
    for span in spans:
        name = span.split()[0]
        if name.startswith("-"):
            continue
        if name not in commands:
            wrong.append(f"evgw {span}: no command {name!r}")
            continue
        known = _options(commands[name]) | _options(parser)
        flags = re.findall(r"(?<![\w-])(--?[a-zA-Z][\w-]*)", re.sub(r"<[^>]*>", "", span))
        wrong += [f"evgw {span}: no option {flag}" for flag in flags if flag not in known]
    assert not wrong, "\n".join(wrong)
