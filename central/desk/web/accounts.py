"""Users, sessions and the audit log in the desk tables: the only writes the web app makes
besides acknowledgements.

A session is known by the SHA-256 of its token: whoever reads the database cannot log in with
what is stored there. Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended setting). Audit rows are only ever inserted.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from central.catalogue.db import Catalogue, Tx
from central.catalogue.desk_schema import desk_audit, desk_sessions, desk_users

ROLES = ("viewer", "investigator", "admin")
"""Each role may do what the ones before it may: read; acknowledge and act; audit and users."""

MIN_PASSWORD_CHARS = 8
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not a password anyone has")


@dataclass(frozen=True)
class Session:
    user: str
    role: str
    csrf: str
    token_sha256: str

    def may(self, role: str) -> bool:
        """Whether this session's role includes `role`'s rights."""
        return ROLES.index(self.role) >= ROLES.index(role)


@dataclass(frozen=True)
class AuditEntry:
    at: float
    user: str
    action: str
    target: str
    detail: str
    address: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def save_user(catalogue: Catalogue, name: str, role: str, password: str, now: float) -> bool:
    """Add the user, or give an existing one this role and password (and enable it); True
    when added. The caller checked the name, role and password length."""
    digest = hash_password(password)
    with catalogue.transaction() as tx:
        found = tx.c.execute(select(desk_users.c.name).where(desk_users.c.name == name)).first()
        if found is None:
            tx.c.execute(
                insert(desk_users).values(
                    name=name, role=role, password_hash=digest, created_at=now, disabled=False
                )
            )
        else:
            tx.c.execute(
                update(desk_users)
                .where(desk_users.c.name == name)
                .values(role=role, password_hash=digest, disabled=False)
            )
            tx.c.execute(delete(desk_sessions).where(desk_sessions.c.user == name))
        audit(tx, AuditEntry(now, "", "useradd", name, f"role={role}", "command line"))
    return found is None


def check_password(catalogue: Catalogue, name: str, password: str) -> bool:
    """Whether `name` is an enabled user with this password; as slow for an unknown name."""
    with catalogue.transaction() as tx:
        row = tx.c.execute(
            select(desk_users.c.password_hash, desk_users.c.disabled).where(
                desk_users.c.name == name
            )
        ).first()
    ok = False
    with contextlib.suppress(VerificationError, InvalidHashError):
        ok = _HASHER.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    return ok and row is not None and not row.disabled


def open_session(catalogue: Catalogue, user: str, now: float, hours: float) -> tuple[str, str]:
    """A new session of `user`: (token for the cookie, CSRF token). Expired sessions go."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_hex(32)
    with catalogue.transaction() as tx:
        tx.c.execute(delete(desk_sessions).where(desk_sessions.c.expires_at <= now))
        tx.c.execute(
            insert(desk_sessions).values(
                token_sha256=token_digest(token),
                user=user,
                csrf=csrf,
                created_at=now,
                expires_at=now + hours * 3600.0,
            )
        )
    return token, csrf


def find_session(catalogue: Catalogue, token: str, now: float) -> Session | None:
    """The live session of this cookie token, of an enabled user; None otherwise."""
    query = (
        select(desk_sessions, desk_users.c.role, desk_users.c.disabled)
        .join(desk_users, desk_users.c.name == desk_sessions.c.user)
        .where(desk_sessions.c.token_sha256 == token_digest(token))
    )
    with catalogue.transaction() as tx:
        row = tx.c.execute(query).first()
        if row is None or row.disabled or row.role not in ROLES:
            return None
        if row.expires_at <= now:
            tx.c.execute(
                delete(desk_sessions).where(desk_sessions.c.token_sha256 == row.token_sha256)
            )
            return None
    return Session(row.user, row.role, row.csrf, row.token_sha256)


def close_session(catalogue: Catalogue, session: Session, entry: AuditEntry) -> None:
    with catalogue.transaction() as tx:
        tx.c.execute(
            delete(desk_sessions).where(desk_sessions.c.token_sha256 == session.token_sha256)
        )
        audit(tx, entry)


def audit(tx: Tx, entry: AuditEntry) -> None:
    """Append one audit row (the only statement evgw runs on desk_audit besides reads)."""
    tx.c.execute(
        insert(desk_audit).values(
            at=entry.at,
            user=entry.user[:255],
            action=entry.action,
            target=entry.target[:1024],
            detail=entry.detail,
            address=entry.address[:64],
        )
    )


def record(catalogue: Catalogue, entry: AuditEntry) -> None:
    with catalogue.transaction() as tx:
        audit(tx, entry)


def audit_log(catalogue: Catalogue, limit: int = 500) -> list[AuditEntry]:
    """The newest `limit` audit rows, newest first."""
    query = select(desk_audit).order_by(desk_audit.c.id.desc()).limit(limit)
    with catalogue.transaction() as tx:
        rows = tx.c.execute(query).all()
    return [AuditEntry(r.at, r.user, r.action, r.target, r.detail, r.address) for r in rows]
