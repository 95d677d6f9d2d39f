"""The Chinese catalogue covers every translatable string; `LANG=zh_CN.UTF-8` speaks Chinese,
argparse's own words included; the in-memory `.mo` reads as `msgfmt`'s does."""

from __future__ import annotations

import gettext
import io
import re
import string

from evgw.i18n import LOCALE_DIR, catalogue_path
from evgw.po import mo_bytes, parse_po
from tests.evgw.i18n_strings import translatable
from tests.support.chinese import run_in_chinese

ZH_CN = LOCALE_DIR / "zh_CN" / "LC_MESSAGES" / "evgw.po"
ARGPARSE_WORDS = ("usage: ", "options", "positional arguments", "show this help message and exit")
CJK = re.compile("[\u4e00-\u9fff]")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_the_chinese_catalogue_translates_every_string_with_the_same_placeholders() -> None:
    catalogue = parse_po(ZH_CN.read_text(encoding="utf-8"))
    code = translatable()
    missing = {msgid: where for msgid, where in code.items() if msgid not in catalogue}
    assert not missing, f"untranslated (add them to {ZH_CN.name}): {missing}"
    for msgid in code:
        assert _fields(catalogue[msgid]) == _fields(msgid), msgid
    assert all(word in catalogue for word in ARGPARSE_WORDS)


def test_plural_pairs_are_found_and_translated_as_one_entry() -> None:
    pair = "{count} record\0{count} records"
    assert translatable()[pair].startswith("central/cli/sync.py:")
    t = gettext.GNUTranslations(io.BytesIO(mo_bytes(parse_po(ZH_CN.read_text(encoding="utf-8")))))
    assert t.ngettext("{count} record", "{count} records", 2).format(count=2) == "2 条记录"


def test_the_po_reads_as_gettext_reads_a_compiled_catalogue() -> None:
    po = (
        'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n'
        '"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        'msgid "a \\"b\\"\\n"\nmsgstr "甲"\n\n'
        '#, fuzzy\nmsgid "fuzzy"\nmsgstr "不用"\n\n'
        'msgid "empty"\nmsgstr ""\n\n'
        'msgid "%s file"\nmsgid_plural "%s files"\nmsgstr[0] "%s 个文件"\n'
    )
    t = gettext.GNUTranslations(io.BytesIO(mo_bytes(parse_po(po))))
    assert t.gettext('a "b"\n') == "甲"
    assert t.gettext("fuzzy") == "fuzzy" and t.gettext("empty") == "empty"
    assert t.ngettext("%s file", "%s files", 3) == "%s 个文件"


def test_the_catalogue_is_chosen_as_gettext_chooses_it() -> None:
    assert catalogue_path({"LANG": "zh_CN.UTF-8"}) == ZH_CN
    assert catalogue_path({"LC_MESSAGES": "zh_CN", "LANG": "en_US.UTF-8"}) == ZH_CN
    assert catalogue_path({"LANGUAGE": "en", "LANG": "zh_CN.UTF-8"}) is None
    assert catalogue_path({"LC_ALL": "C", "LANG": "zh_CN.UTF-8"}) is None
    assert catalogue_path({}) is None


def test_lang_zh_cn_help_of_status_verify_and_find_is_chinese() -> None:
    code = (
        "from gateway.cli.main import main\n"
        "for command in ('status', 'verify', 'find'):\n"
        "    try:\n"
        "        main([command, '--help'])\n"
        "    except SystemExit:\n"
        "        print('=====')\n"
    )
    done = run_in_chinese(code)
    assert done.returncode == 0, done.stderr
    helps = done.stdout.split("=====")[:3]
    assert len(helps) == 3
    for text in helps:
        assert text.strip().startswith("用法：evgw "), text
        assert "选项:" in text and "显示此帮助信息并退出" in text and "退出码：" in text
        assert "usage:" not in text and "options:" not in text and "exit codes" not in text
    assert "TOML 配置文件" in helps[0] and "数据目录" in helps[1] and "摄像机 ID" in helps[2]
    assert all(CJK.search(line) for line in helps[0].splitlines()[4:] if "--" in line)
