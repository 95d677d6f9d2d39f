"""Findings a person has looked into and closed: who, when and why.

A finding is never deleted or edited (the catalogue keeps what sync saw); a resolution is a
note beside it, keyed by the finding's fingerprint, so `evgw archive sync` stops exiting 1
for it while still listing it as resolved. Each resolution is also an audit entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select

from evgw import exit_codes
from evgw.errors import EvgwError
from evgw.i18n import _

from .db import Catalogue, Tx
from .schema import findings, resolutions

SHORT = 12  # hex digits of a fingerprint shown and accepted, as git shows commits


@dataclass(frozen=True)
class Resolution:
    fingerprint: str
    resolved_at: float
    operator: str
    note: str


class ResolveError(EvgwError):
    exit_code = exit_codes.USAGE


def resolved(catalogue: Catalogue, gateways: Sequence[str] | None = None) -> dict[str, Resolution]:
    """fingerprint -> resolution, for the findings of `gateways` (or all)."""
    query = select(resolutions).join(findings, findings.c.fingerprint == resolutions.c.fingerprint)
    if gateways is not None:
        query = query.where(findings.c.gateway.in_(gateways))
    with catalogue.transaction() as tx:
        rows = tx.c.execute(query).all()
    return {
        r.fingerprint: Resolution(r.fingerprint, r.resolved_at, r.operator, r.note) for r in rows
    }


def resolve(tx: Tx, prefix: str, operator: str, note: str, at: float) -> Resolution:
    """Close the one finding whose fingerprint starts with `prefix`."""
    fingerprint = _one(tx, prefix)
    same = select(resolutions).where(resolutions.c.fingerprint == fingerprint)
    if tx.c.execute(same).first() is not None:
        raise ResolveError(_("finding {id} is resolved already").format(id=prefix))
    values = {"fingerprint": fingerprint, "resolved_at": at, "operator": operator, "note": note}
    tx.c.execute(resolutions.insert().values(**values))
    return Resolution(**values)  # type: ignore[arg-type]


def _one(tx: Tx, prefix: str) -> str:
    if len(prefix) < 6 or any(c not in "0123456789abcdef" for c in prefix):
        raise ResolveError(
            _("{id!r} is not a finding id").format(id=prefix),
            hint=_("give at least 6 of the hex digits `evgw archive sync` shows after '#'"),
        )
    query = select(findings.c.fingerprint).where(findings.c.fingerprint.startswith(prefix))
    found = list(tx.c.scalars(query.limit(2)))
    if not found:
        raise ResolveError(
            _("no finding {id} in the catalogue").format(id=prefix),
            hint=_("run `evgw archive sync`"),
        )
    if len(found) > 1:
        raise ResolveError(
            _("{id} names more than one finding; give more digits").format(id=prefix)
        )
    return str(found[0])
