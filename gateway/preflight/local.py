"""What `evgw check` finds without the network: keys, the data dir, TLS files, the overlay font.

Each check returns the problems it found, one line each, naming the file and what to do;
none stops the others. They read `Inputs`, which a configuration that did not validate still
gives for the keys that read, so these problems come in the same run as the config's own.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from evgw.errors import EvgwError
from evgw.i18n import _
from segments.errors import SegmentError
from segments.signing import load_signer
from segments.store import DataDir

from ..keys import refuse_identities, signing_key_path
from .inputs import Inputs
from .service_user import ServiceUser, can_write


def local_problems(inputs: Inputs, user: ServiceUser) -> list[str]:
    """Every problem found without the network."""
    return [
        *signing_key(inputs, user),
        *identities(inputs),
        *data_dir(inputs, user),
        *tls_files(inputs),
        *font(inputs),
    ]


def signing_key(inputs: Inputs, user: ServiceUser) -> Iterator[str]:
    """The device key: there, readable by its owner only, neither it nor its folder the
    service user's (a compromised service must not swap the key that signs its evidence)."""
    if inputs.signing_key is None:
        return
    path = signing_key_path(inputs.signing_key)
    where = f"{inputs.config_path}: [keys] signing_key: {path}"
    if not path.is_file():
        yield where + _(" does not exist; create it with `evgw keygen --out {folder}`").format(
            folder=path.parent
        )
        return
    if not os.access(path, os.R_OK):
        yield where + _(": cannot read it as this user; run the check as root (sudo evgw check …)")
        return
    if path.stat().st_uid == user.uid:
        yield where + _(
            " is owned by the service user {user}, who could replace it; make it root's: "
            "chown root:root {path}"
        ).format(user=user.name, path=path)
    try:
        load_signer(path)
    except SegmentError as e:
        yield f"{inputs.config_path}: [keys] signing_key: {e}"
    if can_write(path.parent, user):
        yield where + _(
            ": its folder is writable by the service user {user}, who could replace the key; "
            "keep it root's: chown root:root {folder} && chmod 755 {folder}"
        ).format(user=user.name, folder=path.parent)


def identities(inputs: Inputs) -> Iterator[str]:
    """No age identity beside the configuration, in the data dir or beside the key."""
    folders = [inputs.config_path.parent]
    if inputs.data_dir is not None:
        folders += [inputs.data_dir, DataDir(inputs.data_dir).keys]
    if inputs.signing_key is not None:
        folders.append(signing_key_path(inputs.signing_key).parent)
    try:
        refuse_identities(folders)
    except EvgwError as e:
        yield str(e)


def data_dir(inputs: Inputs, user: ServiceUser) -> Iterator[str]:
    """The data dir: there (or creatable) and writable by the service user."""
    path = inputs.data_dir
    if path is None:
        return
    where = f"{inputs.config_path}: [gateway] data_dir: {path}"
    fix = f"mkdir -p {path} && chown {user.name}: {path} && chmod 750 {path}"
    if path.exists() and not path.is_dir():
        yield where + _(" is not a folder; point data_dir at a folder")
        return
    existing = path if path.exists() else next(p for p in path.parents if p.exists())
    if not can_write(existing, user):
        if existing == path:
            what = _(" is not writable by the service user {user} (checked {how}); {fix}")
        else:
            what = _(
                " does not exist and {existing} is not writable by the service user {user} "
                "(checked {how}); {fix}"
            )
        yield where + what.format(existing=existing, user=user.name, how=user.how, fix=fix)
        return
    keys = DataDir(path).keys
    if keys.is_dir() and not os.access(keys, os.R_OK):
        yield where + _(": cannot read {folder}; {fix}").format(folder=keys, fix=fix)


def tls_files(inputs: Inputs) -> Iterator[str]:
    """Certificates and keys the file names, which the loader does not open."""
    for key, path in inputs.tls_files:
        where = f"{inputs.config_path}: {key}: {path}"
        if not path.is_file():
            yield where + _(" does not exist; fix the path or install the file")
        elif key.endswith("key_file") and path.stat().st_mode & stat.S_IRWXO:
            yield where + _(" is readable by others; chmod 640 {path}").format(path=path)


def font(inputs: Inputs) -> Iterator[str]:
    """The overlay font, when a camera burns its text in, and every character it must draw."""
    if not inputs.font_needed:
        return
    from segments.overlay.font import find_font, load_font, missing_glyphs  # Pillow, numpy

    try:
        path = find_font()
    except SegmentError as e:
        yield f'{inputs.config_path}: [recording] overlay = "burn_in": {e}'
        return
    loaded = load_font(path, 24)
    for camera in inputs.burn_in:
        missing = missing_glyphs(loaded, camera.text)
        if missing:
            yield f"{inputs.config_path}: cameras {camera.camera}: " + _(
                "the overlay font {path} cannot draw {missing}; install a font that can "
                "(fonts-wqy-zenhei)"
            ).format(path=path, missing=repr("".join(missing)))
