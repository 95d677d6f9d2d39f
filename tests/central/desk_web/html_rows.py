"""Read table rows out of the desk's HTML the way the contract names them: a `tr` with
data-* attributes, its `td[data-field]` cells' text. Parsed, not grepped."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Row:
    table: str  # the id of the enclosing table
    attrs: dict[str, str]
    cells: dict[str, str] = field(default_factory=dict)
    forms: list[str] = field(default_factory=list)  # class names of forms inside


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Row] = []
        self._tables: list[str] = []
        self._row: Row | None = None
        self._cell: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "table":
            self._tables.append(a.get("id", ""))
        elif tag == "tr" and self._tables:
            self._row = Row(self._tables[-1], a)
        elif tag == "td" and self._row is not None and "data-field" in a:
            self._cell, self._text = a["data-field"], []
        elif tag == "form" and self._row is not None:
            self._row.forms.append(a.get("class", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self._tables:
            self._tables.pop()
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None
        elif tag == "td" and self._row is not None and self._cell is not None:
            self._row.cells[self._cell] = "".join(self._text).strip()
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._text.append(data)


def rows(html: str, table: str) -> list[Row]:
    """The body rows (those with data-* attributes) of `table#<table>`."""
    parser = _Rows()
    parser.feed(html)
    return [
        r for r in parser.rows if r.table == table and any(k.startswith("data-") for k in r.attrs)
    ]


def row(html: str, table: str, **attrs: str) -> Row:
    wanted = {f"data-{k.replace('_', '-')}": v for k, v in attrs.items()}
    found = [r for r in rows(html, table) if all(r.attrs.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, (table, attrs, [r.attrs for r in rows(html, table)])
    return found[0]
