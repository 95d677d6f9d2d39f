"""Headquarters' command line speaks the reader's language: under `LANG=zh_CN.UTF-8` (and no
LANGUAGE), `evgw archive --help`, a sub-command's help and a usage error are Chinese, with
the one exit-code table and the one error form; usage errors exit 2."""

from __future__ import annotations

import re
from pathlib import Path

from tests.support.chinese import evgw_in_chinese

CJK = re.compile("[\u4e00-\u9fff]")


def test_archive_help_lists_its_commands_in_chinese() -> None:
    done = evgw_in_chinese("archive", "--help")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert text.startswith("用法：evgw archive ") and "退出码：" in text
    assert "以本归档联署签名的最新检查点验证网关设备的数据目录" in text  # verify-box
    assert "生成归档的见证签名密钥或导出签名密钥" in text  # keygen
    for name in ("sync", "verify-box", "keygen", "resolve", "find", "export"):
        (line,) = [x for x in text.splitlines() if x.strip().startswith(name + " ")]
        assert CJK.search(line), line
    assert "usage:" not in text and "exit codes" not in text and "catalogue the bucket" not in text


def test_every_option_of_archive_sync_is_explained_in_chinese() -> None:
    done = evgw_in_chinese("archive", "sync", "--help")
    assert done.returncode == 0, done.stderr
    options = [x for x in done.stdout.splitlines() if x.strip().startswith("-")]
    assert {"--config", "--gateway", "--audit", "--json"} <= {x.split()[0] for x in options}
    assert all(CJK.search(x) for x in options), options
    assert "只同步这些网关的对象" in done.stdout


def test_a_usage_error_is_chinese_in_the_one_error_form_and_exits_2(tmp_path: Path) -> None:
    done = evgw_in_chinese("archive", "find", "--config", str(tmp_path / "central.toml"))
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert lines[0].startswith("用法：evgw archive find ")
    assert "evgw: 错误：缺少以下必需参数：--gateway, --camera, --from, --to" in lines
    assert lines[-1] == "evgw: 提示：`evgw archive find --help` 列出全部选项"
    bad_list = evgw_in_chinese("archive", "sync", "--config", "x.toml", "--gateway", "gw-1,")
    assert bad_list.returncode == 2
    assert "'gw-1,' 中有空的网关名称" in bad_list.stderr


def test_a_resolve_without_a_note_says_so_in_chinese_and_exits_2(tmp_path: Path) -> None:
    args = ("archive", "resolve", "--config", str(tmp_path / "c.toml"), "abcdef")
    done = evgw_in_chinese(*args, "--operator", " ", "--note", " ")
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        "evgw: 错误：请说明由谁处理（--operator）以及原因（--note）"
    ]
