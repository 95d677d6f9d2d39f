"""Users, sessions and the audit log in the desk tables: the only writes the web app makes
besides acknowledgements.

A session is known by the SHA-256 of its token: whoever reads the database cannot log in with
what is stored there. Passwords are argon2id hashes (argon2-cffi's defaults, RFC 9106's second
recommended setting). Audit entries go to the log shared with the archive
(`central.catalogue.audit`), only ever inserted.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, insert, select, update

from central.catalogue.audit import CLI, AuditEntry, append
from central.catalogue.db import Catalogue
from central.catalogue.desk_schema import desk_sessions, desk_users

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
        append(tx, AuditEntry(now, "", "useradd", name, {"role": role}, CLI))
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
        append(tx, entry)


def record(catalogue: Catalogue, entry: AuditEntry) -> None:
    """Append one entry to the audit log at headquarters, in its own transaction."""
    with catalogue.transaction() as tx:
        append(tx, entry)
