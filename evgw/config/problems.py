"""Every problem of a configuration file at once, not only the first.

An installer fixing an example file should see the whole list in one run (`evgw check`), so
the mapper keeps going past a bad key: each table reports all its bad keys, each section and
each camera is checked even when an earlier one failed. `ConfigProblems` is still a
`ConfigError` (exit 2); its message is the problems, one line each.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from ..errors import ConfigError

T = TypeVar("T")


class ConfigProblems(ConfigError):
    """Several problems of one file; each one line naming the file, the key and the reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


def problems_of(error: ConfigError) -> tuple[str, ...]:
    """The one-line problems an error stands for."""
    if isinstance(error, ConfigProblems):
        return error.problems
    return (str(error),)


class Collector:
    """Gathers problems while checking goes on; `done` raises them all together.

    A single problem is raised as the error itself, so its cause and type stay as they were.
    """

    def __init__(self) -> None:
        self.errors: list[ConfigError] = []

    @property
    def found(self) -> tuple[str, ...]:
        return tuple(line for error in self.errors for line in problems_of(error))

    def add(self, error: ConfigError) -> None:
        self.errors.append(error)

    def attempt(self, build: Callable[[], T]) -> T | None:
        """`build()`, or None with its problems noted."""
        try:
            return build()
        except ConfigError as e:
            self.add(e)
            return None

    def done(self) -> None:
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise ConfigProblems(self.found)
