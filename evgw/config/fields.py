"""Declare each configuration key once, and read TOML tables through those declarations.

A table of the file is a frozen dataclass made with `@table`; each field is one key, declared
with `setting(...)`: default, check, secrecy, help text and example value in one place, and
the field's annotation is the key's TOML type. `read_table` checks a parsed table against
the declarations and `gateway.config.example` writes the example file from the same ones,
so what the loader enforces and what the example documents cannot drift apart.

Every rejection names the file and the key path, read the way the file reads: ``[recording]
crf`` for a key in a table, ``cameras[0].rtsp`` for a key in the first ``[[cameras]]`` entry
(indexes start at 0). The reason is in the reader's language (`evgw.i18n`, chosen when the
message is made); file, key paths and values stay as written.
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from types import MappingProxyType
from typing import (
    Any,
    Literal,
    TypeVar,
    Union,
    dataclass_transform,
    get_args,
    get_origin,
    get_type_hints,
)

from ..errors import ConfigError
from ..i18n import N_, _
from .checks import Check, Invalid, one_of, path, text
from .placeholders import MARK, found_in
from .problems import Collector

T = TypeVar("T")
_SETTING = "evgw.setting"


@dataclass(frozen=True)
class Setting:
    """What a key's declaration adds to its type and default: check, help, example, secrecy."""

    help: str
    check: Check | None
    example: Any
    commented: bool
    secret: bool


def setting(
    *,
    default: Any = MISSING,
    help: str,
    check: Check | None = None,
    example: Any = MISSING,
    commented: bool = False,
    secret: bool = False,
) -> Any:
    """Declare one key of a `table`.

    `default` left out makes the key required. `help` is its comment in the example file and
    `example` the value shown there (the default when left out); `commented` shows it as a
    commented-out line. A `secret` is kept out of repr and never echoed in messages.
    """
    declared = Setting(help, check, example, commented, secret)
    return field(default=default, repr=not secret, metadata={_SETTING: declared})


def user_name(*, help: str, example: str, commented: bool = True) -> Any:
    """An optional user name, the other half of a `secret` password."""
    return setting(default=None, help=help, check=text, example=example, commented=commented)


def secret(*, help: str, example: str = MARK + "SECRET", commented: bool = True) -> Any:
    """An optional secret given inline, kept out of repr and messages.

    Its twin `secret_file` is the better place: the configuration file then holds no secret.
    """
    return setting(default=None, help=help, example=example, commented=commented, secret=True)


def secret_file(
    of: str, *, holding: str, example: str, commented: bool = True, exactly_one: bool = False
) -> Any:
    """The ``<of>_file`` twin of secret `of`: a file the builder reads once, at start."""
    rule = f"exactly one of {of} or {of}_file" if exactly_one else f"{of} or {of}_file, not both"
    help = (
        f"File holding {holding}, read at start (one trailing newline stripped); a missing "
        f"file is an error. Set {rule}."
    )
    return setting(default=None, help=help, example=example, commented=commented)


@dataclass_transform(frozen_default=True, field_specifiers=(setting,))
def table(cls: type[T]) -> type[T]:
    """A table of the file: a frozen dataclass whose fields are its keys, each a `setting`."""
    return dataclass(frozen=True)(cls)


@dataclass(frozen=True)
class Kind:
    """A TOML type: `noun` for messages (translated where shown), `name` for the example (never
    translated: the example file stays English), `keep` converts after checks."""

    noun: str
    name: str
    accepts: Callable[[object], bool]
    keep: Callable[[Any], Any] = lambda value: value


def _is_string(value: object) -> bool:
    return isinstance(value, str)


STRING = Kind(N_("a string"), "text", _is_string)
PATH = Kind(N_("a string"), "path", _is_string)
INTEGER = Kind(
    N_("an integer"), "integer", lambda v: isinstance(v, int) and not isinstance(v, bool)
)
NUMBER = Kind(
    N_("a number"),
    "number",
    lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    float,
)
STRINGS = Kind(
    N_("an array of strings"),
    "array of strings",
    lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    tuple,
)
BOOLEAN = Kind(N_("a boolean (true or false)"), "true or false", lambda v: isinstance(v, bool))
NAMED_STRINGS = Kind(
    N_('a table of strings ({ name = "text" })'),
    "table of name = text",
    lambda v: isinstance(v, dict) and all(isinstance(x, str) for x in v.values()),
    lambda v: MappingProxyType(dict(v)),
)
_KINDS: dict[object, tuple[Kind, Check | None]] = {
    str: (STRING, None),
    Path: (PATH, path),
    int: (INTEGER, None),
    float: (NUMBER, None),
    tuple: (STRINGS, None),
    bool: (BOOLEAN, None),
    Mapping: (NAMED_STRINGS, None),
}


@dataclass(frozen=True)
class Key:
    """One declared key as the mapper and the example generator see it."""

    name: str
    kind: Kind
    default: Any
    checks: tuple[Check, ...]
    setting: Setting

    @property
    def required(self) -> bool:
        return self.default is MISSING

    @property
    def rule(self) -> str:
        return ", ".join(check.rule for check in self.checks if check.rule)


def keys(cls: type[Any]) -> tuple[Key, ...]:
    """The keys `cls` declares, in declaration order, with kinds read from the annotations."""
    hints = get_type_hints(cls)
    return tuple(_key(f.name, hints[f.name], f.default, f.metadata[_SETTING]) for f in fields(cls))


def _key(name: str, hint: Any, default: Any, declared: Setting) -> Key:
    if get_origin(hint) in (Union, types.UnionType):
        (hint,) = (arg for arg in get_args(hint) if arg is not type(None))
    implied: Check | None
    if get_origin(hint) is Literal:
        kind, implied = STRING, one_of(*get_args(hint))
    else:
        kind, implied = _KINDS[get_origin(hint) or hint]
    if kind is PATH and declared.check is not None:
        implied = None  # the declared check makes the Path itself (or None)
    checks = tuple(check for check in (implied, declared.check) if check is not None)
    return Key(name, kind, default, checks, declared)


@dataclass(frozen=True)
class Scope:
    """Where in the file a table sits, to render key paths the way the file reads."""

    file: Path
    label: str
    sep: str

    def key_path(self, key: str) -> str:
        return f"{self.label}{self.sep}{key}" if self.label else key

    def error(self, key: str | None, reason: str) -> ConfigError:
        where = self.label if key is None else self.key_path(key)
        return ConfigError(f"{self.file}: {where}: {reason}")


def read_table(scope: Scope, raw: Mapping[str, Any], cls: type[T]) -> T:
    """Check `raw` against `cls`: no unknown keys, required ones present, TOML types, checks.

    Values keep their checked form (floats for numbers, tuples for arrays); paths are
    resolved against the configuration file's folder. Every bad key of the table is reported
    (`ConfigProblems`), not only the first; a value still holding the example's placeholder
    is refused, saying what belongs there.
    """
    declared = keys(cls)
    names = tuple(key.name for key in declared)
    problems = Collector()
    for name in raw:
        if name not in names:
            problems.add(scope.error(name, unknown_key(name, names)))
    values = {key.name: problems.attempt(partial(_value, scope, raw, key)) for key in declared}
    problems.done()
    return cls(**values)


def read_key(scope: Scope, raw: Mapping[str, Any], cls: type[Any], name: str) -> Any:
    """One key of `cls` checked alone, as `read_table` checks it; for a file that did not
    validate, whose other keys must not hide what this one says."""
    (key,) = (k for k in keys(cls) if k.name == name)
    return _value(scope, raw, key)


def _value(scope: Scope, raw: Mapping[str, Any], key: Key) -> Any:
    if key.name not in raw:
        if key.required:
            raise scope.error(key.name, _("missing required key"))
        return key.default
    value = raw[key.name]
    if not key.kind.accepts(value):
        got = toml_type(value) if key.setting.secret else describe(value)
        reason = _("must be {kind}, got {got}").format(kind=_(key.kind.noun), got=got)
        raise scope.error(key.name, reason)
    unreplaced = found_in(value)
    if unreplaced:
        raise scope.error(key.name, unreplaced)
    try:
        for check in key.checks:
            value = check(value)
    except Invalid as e:
        raise scope.error(key.name, str(e)) from None
    if isinstance(value, Path):
        return _anchor(scope.file.parent, value)
    return value if value is None else key.kind.keep(value)


def section(
    path: Path, data: Mapping[str, Any], name: str, required: bool = False
) -> tuple[Scope, Mapping[str, Any]]:
    """The table `[name]` of `data` and its scope; an absent optional section reads as empty."""
    scope = Scope(path, f"[{name}]", " ")
    if name not in data:
        if required:
            raise scope.error(None, _("missing required section"))
        return scope, {}
    found = data[name]
    if not isinstance(found, dict):
        reason = _("must be a table ([{name}]), got {got}").format(name=name, got=describe(found))
        raise scope.error(None, reason)
    return scope, found


def unknown_key(key: str, allowed: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return _("unknown key (did you mean {key}?)").format(key=close[0])
    return _("unknown key (allowed: {keys})").format(keys=", ".join(allowed))


def toml_type(value: object) -> str:
    """The TOML type of `value` by name, in the reader's language."""
    kinds: tuple[tuple[type | tuple[type, ...], str], ...] = (
        (bool, N_("boolean")),
        (int, N_("integer")),
        (float, N_("float")),
        (str, N_("string")),
        (list, N_("array")),
        (dict, N_("table")),
        (datetime, N_("datetime")),
        ((date, time), N_("date/time")),
    )
    return next((_(name) for cls, name in kinds if isinstance(value, cls)), type(value).__name__)


def describe(value: object) -> str:
    """Show a wrong value briefly: strings quoted, others with their TOML type."""
    if isinstance(value, bool):
        return f"{toml_type(value)} {str(value).lower()}"
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return shown if isinstance(value, str) else f"{toml_type(value)} {shown}"


def _anchor(base: Path, path: Path) -> Path:
    """Resolve a relative path against the config file's folder, lexically (no file access)."""
    return Path(os.path.normpath(base.absolute() / path))


@dataclass(frozen=True)
class Section:
    """A top-level table of the file; `array` marks an array of tables (``[[cameras]]``)."""

    name: str
    declared: type[Any]
    help: str
    required: bool = False
    array: bool = False
