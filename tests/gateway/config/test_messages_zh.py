"""The configuration's messages speak the reader's language: under `LANG=zh_CN.UTF-8`, `evgw
check` gives each problem in Chinese, the file, the key paths and the values left as written."""

from __future__ import annotations

from pathlib import Path

from tests.support.chinese import evgw_in_chinese

PLACEHOLDER = "REPLACE-WITH-ARCHIVE-AGE-RECIPIENT"


def test_lang_zh_cn_check_names_each_problem_in_chinese(tmp_path: Path) -> None:
    config = tmp_path / "evgw.toml"
    config.write_text(
        '[gateway]\nid = "gw-1"\nsite = 5\ndata_dir = "/var/lib/evgw"\n'
        '[location]\nname = "一号卡口"\n'
        "[recording]\nsegment_seconds = 7\n"
        f'[keys]\nsigning_key = "keys/device.ed25519"\nrecipients = ["{PLACEHOLDER}"]\n'
        '[[cameras]]\nid = "gate-1"\nrtsp = "rtsp://127.0.0.1:8554/cam1"\n',
        encoding="utf-8",
    )
    done = evgw_in_chinese("check", "--config", str(config), "--service-user", "nobody")
    assert done.returncode == 2, done.stderr
    lines = done.stderr.splitlines()
    assert lines[:3] == [
        f"{config}: [gateway] site: 必须是字符串，实际为 整数 5",
        f"{config}: [recording] segment_seconds: 必须能整除 86400，使片段边界与午夜对齐"
        "（例如 10、30、60、300、600、3600），实际为 7",
        f"{config}: [keys] recipients: 仍是示例文件中的占位符：请将 {PLACEHOLDER} 替换为中心归档的 "
        "age 接收方公钥（age1…，在归档所在的计算机上由 `evgw keygen --archive` 打印）",
    ]
    key = tmp_path / "keys" / "device.ed25519"  # the box is checked too, in the same run
    assert lines[3] == (
        f"{config}: [keys] signing_key: {key} 不存在；请用 `evgw keygen --out {key.parent}` 创建"
    )
    assert lines[-1] == f"evgw check：{config} 中有 {len(lines) - 1} 个问题"
