"""Chinese or English from Accept-Language, with the same words in both."""

from __future__ import annotations

from central.desk.web.labels import EN, ZH, language


def test_both_languages_have_every_label() -> None:
    assert EN.keys() == ZH.keys()
    assert all(ZH[k] for k in ZH) and ZH["offline"] != EN["offline"]


def test_language_follows_the_browser_preference() -> None:
    assert language("zh-CN,zh;q=0.9,en;q=0.8") == "zh"
    assert language("en-US,en;q=0.9,zh-CN;q=0.8") == "en"
    assert language("fr-FR, zh-TW;q=0.5") == "zh"
    assert language("zh;q=0, en;q=0.1") == "en"
    assert language("zh;q=abc") == "en"
    assert language(None) == language("") == language("*") == "en"
    assert language("de, " * 1000 + "zh") == "en"  # only the first 512 characters are read
