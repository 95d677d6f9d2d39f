"""Log lines on a terminal carry the time; in the journal a priority prefix instead."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from gateway.logs import formatter_for, stderr_is_journal


def line(formatter: logging.Formatter, level: int, message: str) -> str:
    record = logging.LogRecord("gateway.daemon", level, __file__, 1, message, None, None)
    return formatter.format(record)


def test_in_the_journal_a_line_has_no_time_and_starts_with_its_priority(tmp_path: Path) -> None:
    with open(tmp_path / "stderr", "w") as stream:
        found = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{found.st_dev}:{found.st_ino}"}
        assert stderr_is_journal(env, stream.fileno())
        journal = formatter_for(env, stream.fileno())
    text = line(journal, logging.ERROR, "gate-1: gap seq=7 reason=config_reload")
    assert text == "<3>level=ERROR logger=gateway.daemon gate-1: gap seq=7 reason=config_reload"
    assert line(journal, logging.INFO, "x").startswith("<6>")
    assert line(journal, logging.WARNING, "x").startswith("<4>")
    assert line(journal, logging.ERROR, "a\nb").split("\n")[1] == "<3>  b", "still indented"


def test_elsewhere_a_line_starts_with_the_time(tmp_path: Path) -> None:
    with open(tmp_path / "stderr", "w") as stream:
        inherited = {"JOURNAL_STREAM": "1:2"}  # a child's stderr redirected elsewhere
        assert not stderr_is_journal(inherited, stream.fileno())
        terminal = formatter_for(inherited, stream.fileno())
    text = line(terminal, logging.INFO, "recording")
    assert not text.startswith("<")
    assert text[:4].isdigit() and "level=INFO logger=gateway.daemon recording" in text
