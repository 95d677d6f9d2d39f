"""What `evgw check` finds without the network: keys, the data dir, the overlay font.

Each check returns the problems it found, one line each, naming the file and what to do;
none stops the others. The config itself was checked by `load_config` (every problem).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from evgw.errors import EvgwError
from segments.errors import SegmentError
from segments.signing import load_signer
from segments.store import DataDir

from ..config import Config
from ..keys import refuse_identities, signing_key_path
from ..wiring import guarded_folders
from .service_user import ServiceUser, can_write


def local_problems(config: Config, user: ServiceUser) -> list[str]:
    """Every problem found without the network."""
    return [
        *signing_key(config, user),
        *identities(config),
        *data_dir(config, user),
        *tls_files(config),
        *font(config),
    ]


def signing_key(config: Config, user: ServiceUser) -> Iterator[str]:
    """The device key: there, readable by its owner only, neither it nor its folder the
    service user's (a compromised service must not swap the key that signs its evidence)."""
    path = signing_key_path(config.keys)
    where = f"{config.path}: [keys] signing_key: {path}"
    if not path.is_file():
        yield f"{where} does not exist; create it with `evgw keygen --out {path.parent}`"
        return
    if not os.access(path, os.R_OK):
        yield f"{where}: cannot read it as this user; run the check as root (sudo evgw check …)"
        return
    if path.stat().st_uid == user.uid:
        yield (
            f"{where} is owned by the service user {user.name}, who could replace it; make it "
            f"root's: chown root:root {path}"
        )
    try:
        load_signer(path)
    except SegmentError as e:
        yield f"{config.path}: [keys] signing_key: {e}"
    if can_write(path.parent, user):
        yield (
            f"{where}: its folder is writable by the service user {user.name}, who could "
            f"replace the key; keep it root's: chown root:root {path.parent} && chmod 755 "
            f"{path.parent}"
        )


def identities(config: Config) -> Iterator[str]:
    """No age identity beside the configuration, in the data dir or beside the key."""
    try:
        refuse_identities(guarded_folders(config))
    except EvgwError as e:
        yield str(e)


def data_dir(config: Config, user: ServiceUser) -> Iterator[str]:
    """The data dir: there (or creatable) and writable by the service user."""
    path = config.gateway.data_dir
    where = f"{config.path}: [gateway] data_dir: {path}"
    fix = f"mkdir -p {path} && chown {user.name}: {path} && chmod 750 {path}"
    if path.exists() and not path.is_dir():
        yield f"{where} is not a folder; point data_dir at a folder"
        return
    existing = path if path.exists() else next(p for p in path.parents if p.exists())
    if not can_write(existing, user):
        what = (
            "is not writable"
            if existing == path
            else f"does not exist and {existing} is not writable"
        )
        yield f"{where} {what} by the service user {user.name} (checked {user.how}); {fix}"
        return
    keys = DataDir(path).keys
    if keys.is_dir() and not os.access(keys, os.R_OK):
        yield f"{where}: cannot read {keys}; {fix}"


def tls_files(config: Config) -> Iterator[str]:
    """Certificates and keys the file names, which the loader does not open."""
    named: list[tuple[str, Path | None]] = []
    if config.mqtt is not None:
        link = config.mqtt.link
        named += [("[mqtt] ca_file", link.ca_file), ("[mqtt] cert_file", link.cert_file)]
        named += [("[mqtt] key_file", link.key_file)]
    if config.upload is not None:
        ca_file = config.upload.store.ca_file
        named.append(("[upload] ca_file", Path(ca_file) if ca_file else None))
    for key, path in named:
        if path is not None and not path.is_file():
            yield f"{config.path}: {key}: {path} does not exist; fix the path or install the file"
        elif path is not None and key.endswith("key_file") and path.stat().st_mode & stat.S_IRWXO:
            yield f"{config.path}: {key}: {path} is readable by others; chmod 640 {path}"


def font(config: Config) -> Iterator[str]:
    """The overlay font, when a camera burns its text in, and every character it must draw."""
    burning = [c for c in config.cameras if c.enabled and c.overlay == "burn_in"]
    if not burning and not (config.discovery.auto_enroll and config.recording.overlay == "burn_in"):
        return
    from segments.overlay.font import find_font, load_font, missing_glyphs  # Pillow, numpy

    try:
        path = find_font()
    except SegmentError as e:
        yield f'{config.path}: [recording] overlay = "burn_in": {e}'
        return
    loaded = load_font(path, 24)
    for camera in burning:
        missing = missing_glyphs(loaded, camera.location + camera.name)
        if missing:
            yield (
                f"{config.path}: cameras {camera.id}: the overlay font {path} cannot draw "
                f"{''.join(missing)!r}; install a font that can (fonts-wqy-zenhei)"
            )
