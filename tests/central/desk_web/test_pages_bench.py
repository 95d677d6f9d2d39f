"""The desk page benchmark at toy scale, so it cannot rot: it fills the tables, logs in and
times every page it names, each answering 200."""

from __future__ import annotations

import pytest

from tests.bench.bench_desk_pages import PAGES, main


def test_the_page_benchmark_times_every_page(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--gateways", "3", "--cameras", "2", "--alarms", "2", "--requests", "2"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("3 gateways x 2 cameras, 2 active alarms, sqlite")
    timed = [line.split()[0] for line in lines[1:]]
    assert timed == list(PAGES)
    assert all("p95" in line and "KiB" in line for line in lines[1:])
