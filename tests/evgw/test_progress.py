"""The shared percentage line: quiet for short work, then one refreshed line with its unit."""

from __future__ import annotations

import io

import pytest

from evgw import progress
from evgw.progress import Progress


def test_short_work_prints_nothing() -> None:
    out = io.StringIO()
    line = Progress(out, "verifying")
    line(1, 2)
    line.finish()
    assert out.getvalue() == ""


def test_long_work_shows_percent_of_its_unit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(progress, "SHOW_AFTER_S", 0.0)
    monkeypatch.setattr(progress, "REFRESH_S", 0.0)
    out = io.StringIO()
    line = Progress(out, "syncing gw-1", lambda n: f"{n} new objects")
    line(1, 4)
    line(4, 4)
    line.finish()
    assert out.getvalue() == (
        "\rsyncing gw-1:  25% of 4 new objects\rsyncing gw-1: 100% of 4 new objects\n"
    )
    megabytes = io.StringIO()
    Progress(megabytes, "exporting")(50, 2_000_000)
    assert megabytes.getvalue() == "\rexporting:   0% of 2 MB"
