"""Tables align by what a terminal draws: a Chinese character takes two columns."""

from __future__ import annotations

from evgw.display_width import width, wrap
from gateway.cli.table import columns


def test_columns_align_by_display_width_with_chinese_names() -> None:
    lines = columns([("camera", "state"), ("北门-1", "ok"), ("gate-2", "ok"), ("东侧出口", "off")])
    starts = {width(line[: line.rindex(" ") + 1]) for line in lines}
    assert starts == {10}  # "东侧出口" is 8 columns wide, then two spaces
    assert width("北门") == 4 and width("e\u0301") == 1 and width("ＡＢ") == 4


def test_wrap_breaks_chinese_between_characters_and_words_at_spaces() -> None:
    assert wrap("the TOML configuration file", 10) == ["the TOML", "configuration", "file"]
    lines = wrap("网关的受信任设备公钥 'ed25519:<base64>' 或存有该公钥的文件", 16)
    assert lines == ["网关的受信任设备", "公钥", "'ed25519:<base64>'", "或存有该公钥的文", "件"]
