"""Nothing a camera or a broker sends can command the terminal we print to."""

from __future__ import annotations

import io
import logging

from hypothesis import given
from hypothesis import strategies as st

from evgw.text import SafeText, printable
from gateway.cli.terminal import CLEAR_SCREEN, clear_screen
from gateway.logs import setup_logging

HOSTILE = "gate-1\x1b[2J\x1b]0;pwned\x07\r\x9b31m\u202eevil\u2066"


def test_escape_sequences_and_direction_overrides_are_shown_not_obeyed() -> None:
    shown = printable(HOSTILE)
    assert "\x1b" not in shown and "\x07" not in shown and "\r" not in shown
    assert "\x9b" not in shown and "\u202e" not in shown and "\u2066" not in shown
    assert shown.startswith("gate-1") and "evil" in shown


@given(st.text())
def test_printable_leaves_only_printable_text(text: str) -> None:
    shown = printable(text)
    assert all(c in "\t\n" or c.isprintable() or not _is_control(c) for c in shown)
    assert len(shown) == len(text)


def _is_control(c: str) -> bool:
    return (
        ord(c) < 0x20
        or 0x7F <= ord(c) <= 0x9F
        or c in "\u200e\u200f"
        or ("\u202a" <= c <= "\u202e" or "\u2066" <= c <= "\u2069")
    )


def test_safe_text_filters_all_output_but_the_deliberate_clear() -> None:
    raw = io.StringIO()
    out = SafeText(raw)
    out.write(f"camera {HOSTILE}\n")
    clear_screen(out)
    assert "\x1b[2J\x1b]0" not in raw.getvalue().split(CLEAR_SCREEN)[0]
    assert raw.getvalue().endswith(CLEAR_SCREEN)


def test_log_lines_carry_no_control_characters_and_no_forged_entries(capsys) -> None:
    setup_logging()
    logging.getLogger("test").warning("name %s\n2026-01-01 level=INFO forged", HOSTILE)
    err = capsys.readouterr().err
    assert "\x1b" not in err and "\u202e" not in err
    lines = err.splitlines()
    assert len(lines) == 2 and lines[1].startswith("  ")
