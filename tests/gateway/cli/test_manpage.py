"""evgw(1) is generated from the parser `evgw` runs: every command and option is on the page,
and the page is valid man(7) for groff."""

from __future__ import annotations

import argparse
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date

import pytest

from gateway.cli.main import build_parser
from gateway.cli.manpage import render


def _walk(parser: argparse.ArgumentParser, name: str) -> Iterator[tuple[str, str]]:
    """(command path, option string) for every option of every command and sub-command."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child, sub in action.choices.items():
                yield from _walk(sub, f"{name} {child}".strip())
        elif not isinstance(action, argparse._HelpAction):
            for option in action.option_strings:
                yield name, option


def roff_words(text: str) -> str:
    return text.replace("-", "\\-")


@pytest.fixture(scope="module")
def page() -> str:
    return render(build_parser(), date(2026, 1, 2))


def test_every_command_and_option_is_on_the_page(page: str) -> None:
    sections = page.split("\n.SS ")
    found = list(_walk(build_parser(), ""))
    assert len({c for c, _ in found}) > 10
    for command, option in found:
        title = roff_words(command) + "\n"
        where = [s for s in sections if s.startswith(title)] if command else sections[:1]
        assert len(where) == 1, f"one section for {command!r}"
        assert "\\fB" + roff_words(option) + "\\fR" in where[0], (command, option)
    assert '.TH EVGW 1 "2026-01-02"' in page
    assert "EVGW_CONFIG" in page and ".SH EXIT STATUS" in page


@pytest.mark.skipif(shutil.which("groff") is None, reason="groff is missing")
def test_groff_reads_the_page_without_warnings(page: str) -> None:
    done = subprocess.run(
        ["groff", "-man", "-Tutf8", "-ww", "-z"], input=page, capture_output=True, text=True
    )
    assert done.returncode == 0 and not done.stderr, done.stderr
