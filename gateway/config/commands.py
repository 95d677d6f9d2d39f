"""The ``[commands]`` section: which operator keys the gateway obeys over MQTT, and the limits
every command meets (clock skew, rate per operator, string and range bounds).

Without an operator key every command is refused: a gateway obeys nobody by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evgw.config import checks
from evgw.config.checks import Check, Invalid
from evgw.config.fields import Scope, read_table, setting, table
from evgw.config.placeholders import placeholder
from evgw.i18n import _
from segments.errors import CryptoFormatError
from segments.signing import parse_public_key

MAX_OPERATORS_FILE_BYTES = 64 * 1024


def _operator_keys(values: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """Each an Ed25519 public key text; kept in canonical form."""
    texts = []
    for value in values:
        try:
            texts.append(parse_public_key(value).public_key_text())
        except CryptoFormatError as e:
            raise Invalid(f"{value[:20]!r}…: {e}") from e
    return tuple(dict.fromkeys(texts))


operator_keys = Check("ed25519:… public keys of operators", _operator_keys)


@table
class CommandsTable:
    """``[commands]`` as written; `commands_config` adds operators_file to operators."""

    operators: tuple[str, ...] = setting(
        default=(),
        help="Public keys of the operators whose signed MQTT commands (hold, release, "
        "upload-priority, rediscover) this gateway obeys. Make an operator key with `evgw keygen "
        "--operator --out DIR` on the operator's machine (never on a gateway) and copy the "
        "printed public key here. No operator key (here or in operators_file): every command "
        "is refused.",
        check=operator_keys,
        example=(placeholder("OPERATOR-PUBLIC-KEY"),),
    )
    operators_file: Path | None = setting(
        default=None,
        help="A file with more operator public keys, one per line ('#' comments allowed).",
        example="/etc/evgw/operators.txt",
        commented=True,
    )
    max_skew_s: float = setting(
        default=300.0,
        help="A command issued more than this many seconds before or after the gateway's clock "
        "is refused (stale or future); its nonce is remembered longer, so a replay is refused "
        "also after a restart.",
        check=checks.float_range(10, 3600),
    )
    rate_per_minute: int = setting(
        default=6,
        help="Commands one operator may send per minute on average; beyond burst the rest "
        "are refused (rate_limited).",
        check=checks.int_range(1, 600),
    )
    burst: int = setting(
        default=10,
        help="Commands one operator may send at once before rate_per_minute applies.",
        check=checks.int_range(1, 1000),
    )
    max_case_chars: int = setting(
        default=64,
        help="Longest case number a hold may carry (printable characters only).",
        check=checks.int_range(1, 256),
    )
    max_range_days: int = setting(
        default=31,
        help="Longest time range one hold or upload-priority command may cover, in days; its "
        "end may lie at most one day in the future.",
        check=checks.int_range(1, 3660),
    )


@dataclass(frozen=True)
class CommandsConfig:
    """The operators' public key texts (canonical, no duplicates) and the command limits."""

    operators: tuple[str, ...] = ()
    max_skew_s: float = CommandsTable.max_skew_s
    rate_per_minute: int = CommandsTable.rate_per_minute
    burst: int = CommandsTable.burst
    max_case_chars: int = CommandsTable.max_case_chars
    max_range_days: int = CommandsTable.max_range_days


def commands_config(scope: Scope, raw: Mapping[str, Any]) -> CommandsConfig:
    table = read_table(scope, raw, CommandsTable)
    operators = table.operators
    if table.operators_file is not None:
        lines = _read_lines(scope, table.operators_file)
        try:
            operators = _operator_keys((*operators, *lines))
        except Invalid as e:
            raise scope.error("operators_file", f"{str(table.operators_file)!r}: {e}") from e
    return CommandsConfig(
        operators=operators,
        max_skew_s=table.max_skew_s,
        rate_per_minute=table.rate_per_minute,
        burst=table.burst,
        max_case_chars=table.max_case_chars,
        max_range_days=table.max_range_days,
    )


def _read_lines(scope: Scope, path: Path) -> list[str]:
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_OPERATORS_FILE_BYTES + 1)
        if len(raw) > MAX_OPERATORS_FILE_BYTES:
            raise ValueError(_("larger than {limit} bytes").format(limit=MAX_OPERATORS_FILE_BYTES))
        text = raw.decode("utf-8")
    except (OSError, ValueError) as e:
        reason = getattr(e, "strerror", None) or str(e)
        message = _("cannot read {path!r}: {reason}").format(path=str(path), reason=reason)
        raise scope.error("operators_file", message) from e
    stripped = (line.strip() for line in text.splitlines())
    return [line for line in stripped if line and not line.startswith("#")]
