"""The desk ingest benchmark at toy scale, so it cannot rot: its fleet's reports are stored
and nothing is refused, and its figures come out."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from tests.bench.bench_desk_ingest import measure, show

pytestmark = pytest.mark.integration


def test_the_benchmark_fleet_is_ingested_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], _mosquitto_installed: None
) -> None:
    args = argparse.Namespace(
        gateways=3, cameras=2, interval=0.5, warmup=1.5, window=2.0, database="sqlite", sample_s=0
    )
    figures = measure(args, tmp_path)
    assert (figures.refused, figures.dropped) == (0, 0)
    assert figures.received_per_s > 0 and figures.stored_per_s > 0
    assert figures.rows["desk_gateway_samples"] > 0 and figures.rows["desk_camera_samples"] > 0
    assert figures.rows["desk_events"] > 0 and figures.rows["desk_alarms"] > 0
    assert 0 < figures.ingest_cpu < 2 and figures.ingest_rss_mib > 0
    show(figures, "sqlite")
    assert "% of a core" in capsys.readouterr().out
