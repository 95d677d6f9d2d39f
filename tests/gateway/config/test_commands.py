"""The ``[commands]`` section: operator keys inline or from a file, limits, and no operators
by default (a gateway obeys nobody unless told whom)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from evgw.errors import ConfigError
from gateway.config import CommandsConfig, config_from_mapping
from gateway.keys import operator_keyring
from segments.signing import Ed25519Signer
from tests.gateway.config.sample import FAKE, base, error_of, with_section

OPERATORS = [Ed25519Signer(Ed25519PrivateKey.generate()) for _ in range(3)]
TEXTS = [o.public_key_text() for o in OPERATORS]


def test_without_the_section_nobody_is_obeyed() -> None:
    assert config_from_mapping(base(), FAKE).commands == CommandsConfig()
    assert CommandsConfig().operators == () and CommandsConfig().max_skew_s == 300.0


def test_operators_inline_and_from_a_file(tmp_path: Path) -> None:
    listed = tmp_path / "operators.txt"
    listed.write_text(f"# the desk\n{TEXTS[1]}\n\n  {TEXTS[2]}  \n{TEXTS[0]}\n")
    data = with_section(
        "commands",
        operators=[TEXTS[0]],
        operators_file=str(listed),
        max_skew_s=120,
        rate_per_minute=2,
        burst=4,
        max_case_chars=32,
        max_range_days=7,
    )
    commands = config_from_mapping(data, FAKE).commands
    assert commands == CommandsConfig(tuple(TEXTS), 120.0, 2, 4, 32, 7)


@pytest.mark.parametrize(
    ("commands", "expected"),
    [
        ({"operators": ["ed25519:AAAA"]}, "[commands] operators: 'ed25519:AAAA'…"),
        ({"operators": ["age1xyz"]}, "[commands] operators: 'age1xyz'…"),
        ({"operators": "ed25519:x"}, "[commands] operators: must be an array of strings"),
        ({"max_skew_s": 5}, "[commands] max_skew_s: must be between 10 and 3600"),
        ({"burst": 0}, "[commands] burst: must be between 1 and 1000"),
        ({"max_case_chars": 1000}, "[commands] max_case_chars: must be between 1 and 256"),
        ({"operator": []}, "[commands] operator: unknown key (did you mean operators?)"),
        ({"operators_file": "/nonexistent/ops.txt"}, "[commands] operators_file: cannot read"),
    ],
)
def test_commands_errors(commands: dict[str, object], expected: str) -> None:
    assert expected in error_of(with_section("commands", **commands))


def test_a_bad_line_in_the_operators_file_names_the_file(tmp_path: Path) -> None:
    listed = tmp_path / "operators.txt"
    listed.write_text(f"{TEXTS[0]}\nnot a key\n")
    message = error_of(with_section("commands", operators_file=str(listed)))
    assert f"[commands] operators_file: '{listed}': 'not a key'…" in message


def test_the_device_key_is_no_operator() -> None:
    device = OPERATORS[0]
    assert list(operator_keyring(TEXTS[1:], device, FAKE).keys) == [o.key_id for o in OPERATORS[1:]]
    with pytest.raises(ConfigError, match="lists this gateway's own device key"):
        operator_keyring(TEXTS, device, FAKE)
