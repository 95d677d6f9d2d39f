"""``[trust]`` into `TrustedKeys`: each gateway's device key, from the table and from files.

A key that does not parse stops the archive at start, naming the gateway and where the key
came from, so a typo never turns into "every record of that gateway has a bad signature".
The same key listed for two gateways is refused: a key speaks for one gateway.
"""

from __future__ import annotations

from pathlib import Path

from evgw.config.checks import Invalid, slug
from evgw.config.fields import Scope
from segments.errors import CryptoFormatError
from segments.signing import Verifier, parse_public_key
from segments.trust import TrustedKeys

from .tables import TrustTable

MAX_KEY_FILE_BYTES = 4096
PUB_SUFFIX = ".pub"


def trusted_keys(scope: Scope, table: TrustTable) -> TrustedKeys:
    """The gateways' keys from `keys` and `keys_dir`; at least one of them must be set."""
    if table.keys is None and table.keys_dir is None:
        raise scope.error("keys", "set keys (gateway id = device public key) or keys_dir, or both")
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
        raise scope.error(key, f"gateway id {gateway[:70]!r}{where}: {e}") from e
    try:
        return parse_public_key(text)
    except CryptoFormatError as e:
        raise scope.error(
            key,
            f"gateway {gateway}{where}: not a device public key ({e}); copy the line "
            "`evgw keygen` printed at enrolment, e.g. ed25519:<base64>",
        ) from e


def _add(scope: Scope, found: dict[str, list[Verifier]], gateway: str, key: Verifier) -> None:
    text = key.public_key_text()
    for other, keys in found.items():
        if other != gateway and any(k.public_key_text() == text for k in keys):
            raise scope.error(
                "keys",
                f"gateway {gateway} has the same key as gateway {other}: a device key speaks "
                "for one gateway; check the enrolment of both",
            )
    listed = found.setdefault(gateway, [])
    if all(k.public_key_text() != text for k in listed):
        listed.append(key)


def _key_files(scope: Scope, folder: Path) -> list[tuple[str, str, str]]:
    """(gateway, ' in <file>', key text) for each `<gateway>.pub` in `folder`."""
    try:
        files = sorted(p for p in folder.iterdir() if p.name.endswith(PUB_SUFFIX))
    except OSError as e:
        reason = e.strerror or str(e)
        raise scope.error("keys_dir", f"cannot list {str(folder)!r}: {reason}") from e
    found = []
    for path in files:
        try:
            with path.open("rb") as f:
                raw = f.read(MAX_KEY_FILE_BYTES + 1)
            if len(raw) > MAX_KEY_FILE_BYTES:
                raise ValueError(f"larger than {MAX_KEY_FILE_BYTES} bytes")
            text = raw.decode("ascii").strip()
        except (OSError, ValueError) as e:
            reason = getattr(e, "strerror", None) or str(e)
            raise scope.error("keys_dir", f"cannot read {str(path)!r}: {reason}") from e
        found.append((path.name.removesuffix(PUB_SUFFIX), f" in {path}", text))
    return found
