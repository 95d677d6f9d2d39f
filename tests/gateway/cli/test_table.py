"""Tables align by what a terminal draws: a Chinese character takes two columns."""

from __future__ import annotations

from evgw.display_width import width
from gateway.cli.table import columns


def test_columns_align_by_display_width_with_chinese_names() -> None:
    lines = columns([("camera", "state"), ("北门-1", "ok"), ("gate-2", "ok"), ("东侧出口", "off")])
    starts = {width(line[: line.rindex(" ") + 1]) for line in lines}
    assert starts == {10}  # "东侧出口" is 8 columns wide, then two spaces
    assert width("北门") == 4 and width("e\u0301") == 1 and width("ＡＢ") == 4
