"""``[trust]`` into `TrustedKeys`: each gateway's device key, from the table and from files.

A key that does not parse stops the archive at start, naming the gateway and where the key
came from, so a typo never turns into "every record of that gateway has a bad signature".
The same key listed for two gateways is refused: a key speaks for one gateway.
"""

from __future__ import annotations

from pathlib import Path

from evgw.config.checks import Invalid, slug
from evgw.config.fields import Scope
from evgw.i18n import _
from segments.errors import CryptoFormatError
from segments.signing import Verifier, parse_public_key
from segments.trust import TrustedKeys

from .tables import TrustTable

MAX_KEY_FILE_BYTES = 4096
PUB_SUFFIX = ".pub"


def trusted_keys(scope: Scope, table: TrustTable) -> TrustedKeys:
    """The gateways' keys from `keys` and `keys_dir`; at least one of them must be set."""
    if table.keys is None and table.keys_dir is None:
        reason = _("set keys (gateway id = device public key) or keys_dir, or both")
        raise scope.error("keys", reason)
    found: dict[str, list[Verifier]] = {}
    for gateway, text in (table.keys or {}).items():
        _add(scope, found, gateway, _parse(scope, f"keys.{gateway}", gateway, text))
    if table.keys_dir is not None:
        for gateway, where, text in _key_files(scope, table.keys_dir):
            _add(scope, found, gateway, _parse(scope, "keys_dir", gateway, text, where))
    subjects = {gateway: tuple(keys) for gateway, keys in found.items()}
    return TrustedKeys(origin=f"{scope.file} [trust]", subjects=subjects)


def _parse(scope: Scope, key: str, gateway: str, text: str, where: str = "") -> Verifier:
    try:
        slug(gateway)
    except Invalid as e:
        reason = _("gateway id {gateway!r}{where}: {error}")
        raise scope.error(key, reason.format(gateway=gateway[:70], where=where, error=e)) from e
    try:
        return parse_public_key(text)
    except CryptoFormatError as e:
        reason = _(
            "gateway {gateway}{where}: not a device public key ({error}); copy the line "
            "`evgw keygen` printed at enrolment, e.g. ed25519:<base64>"
        )
        raise scope.error(key, reason.format(gateway=gateway, where=where, error=e)) from e


def _add(scope: Scope, found: dict[str, list[Verifier]], gateway: str, key: Verifier) -> None:
    text = key.public_key_text()
    for other, keys in found.items():
        if other != gateway and any(k.public_key_text() == text for k in keys):
            reason = _(
                "gateway {gateway} has the same key as gateway {other}: a device key speaks "
                "for one gateway; check the enrolment of both"
            )
            raise scope.error("keys", reason.format(gateway=gateway, other=other))
    listed = found.setdefault(gateway, [])
    if all(k.public_key_text() != text for k in listed):
        listed.append(key)


def _key_files(scope: Scope, folder: Path) -> list[tuple[str, str, str]]:
    """(gateway, ' in <file>', key text) for each `<gateway>.pub` in `folder`."""
    try:
        files = sorted(p for p in folder.iterdir() if p.name.endswith(PUB_SUFFIX))
    except OSError as e:
        reason = e.strerror or str(e)
        message = _("cannot list {path!r}: {reason}").format(path=str(folder), reason=reason)
        raise scope.error("keys_dir", message) from e
    found = []
    for path in files:
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_KEY_FILE_BYTES + 1)
            if len(raw) > MAX_KEY_FILE_BYTES:
                raise ValueError(_("larger than {limit} bytes").format(limit=MAX_KEY_FILE_BYTES))
            text = raw.decode("ascii").strip()
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            message = _("cannot read {path!r}: {reason}").format(path=str(path), reason=reason)
            raise scope.error("keys_dir", message) from e
        where = _(" in {path}").format(path=path)
        found.append((path.name.removesuffix(PUB_SUFFIX), where, text))
    return found
