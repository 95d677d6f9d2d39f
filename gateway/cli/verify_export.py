"""`evgw verify-export DIR`: re-check an export package offline, for a court's expert.

Only public material is used: the manifest and its signed statement, the records and their
signatures, the signed checkpoint and the inclusion proofs, the sealed and decrypted files.
Origin is proven only by a key the caller trusts (--pubkey or --trust); a package the central
archive exported is signed by the archive's export key, which --archive-pubkey (or a trust file
line `archive:<id> <key>`) trusts. With --identity the
originals are decrypted afresh and the derived copy re-derived (this alone loads the video
stack); with --ledger the box's or the archive's ledger copy, taken after the export, must
hold the signed `export` record of this package. Exit 0 for AUTHENTIC and
AUTHENTIC_WITH_DECLARED_GAPS, 4 for INTEGRITY_ONLY, 1 for a failing verdict, 2 for usage
errors and packages written by a newer evgw.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from evgw.display_width import ljust, rjust
from evgw.errors import UsageError
from evgw.i18n import _
from evgw.local_time import Zone, declared_or_machine, note, show
from segments.agekeys import load_identities
from segments.errors import SegmentError
from segments.package import MANIFEST_NAME, ORIGINAL, REPORT_JSON
from segments.package_check import PackageCheck, verify_package
from segments.package_signature import SIGNATURE_NAME
from segments.signing import load_verifier
from segments.trust import ORIGIN_HINT, TrustedKeys
from segments.verify import KEY_FROM_CALLER, Verdict, exit_code

from . import args as common


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("path", type=Path, help=_("the package folder (<out>/<case>)"))
    common.add_trust(p)
    p.add_argument(
        "--archive-pubkey",
        help=_(
            "the central archive's export key 'ed25519:<base64>' or a file holding it: "
            "trusted for packages the archive signed (evgw archive export), never for records"
        ),
    )
    p.add_argument(
        "--identity",
        type=Path,
        help=_("age identity file: decrypt the originals and re-derive the derived copy"),
    )
    p.add_argument(
        "--ledger",
        type=Path,
        help=_(
            "the camera's ledger (stream folder or ledger.jsonl) copied from the box or the "
            "archive after the export: check its signed export record of this package"
        ),
    )
    common.add_json(p, _("print the result as JSON"))


PACKAGE_MARKS = (MANIFEST_NAME, SIGNATURE_NAME, REPORT_JSON, ORIGINAL)
"""Names of which a package holds at least one: a folder with none is a wrong path (exit 2),
not a tampered package; a package missing some of them is judged, never refused."""


def run(args: argparse.Namespace) -> int:
    check_package_folder(args.path)
    if args.ledger is not None and not args.ledger.exists():
        raise UsageError(_("--ledger {path}: no such file or folder").format(path=args.ledger))
    identities = load_identities(args.identity) if args.identity else []
    check = verify_package(args.path, _trusted(args), identities=identities, ledger=args.ledger)
    print(check.to_json() if args.json else render(check))
    return exit_code(check.verdict)


def check_package_folder(path: Path) -> None:
    """A UsageError unless `path` looks like an export package (`<out>/<case>`)."""
    if not path.is_dir():
        raise UsageError(_("{path}: no such package folder").format(path=path))
    if any((path / name).exists() for name in PACKAGE_MARKS):
        return
    inside = sorted(p.name for p in path.iterdir() if p.is_dir() and (p / MANIFEST_NAME).exists())
    example = path / (inside[0] if inside else "<case>")
    raise UsageError(
        _(
            "{path} is not an export package (no {manifest}, {signature} or {original}/); "
            "pass the case folder inside it, e.g. {example}"
        ).format(
            path=path,
            manifest=MANIFEST_NAME,
            signature=SIGNATURE_NAME,
            original=ORIGINAL,
            example=example,
        )
    )


def _trusted(args: argparse.Namespace) -> TrustedKeys | None:
    """--pubkey/--trust for the records, plus --archive-pubkey for an archive's signature."""
    trust = common.trusted(args)
    if args.archive_pubkey is None:
        return trust
    try:
        archive = load_verifier(args.archive_pubkey)
    except SegmentError as e:
        raise UsageError(_("--archive-pubkey: {error}").format(error=e)) from e
    if trust is None:
        return TrustedKeys(origin="--archive-pubkey", any_archive=archive)
    return replace(trust, any_archive=archive)


def render(check: PackageCheck) -> str:
    """The check for a person: times in the zone the package declares, else this machine's."""
    zone = declared_or_machine(check.timezone)
    labels = check.labels
    lines = [
        _("package: case {case}, camera {camera}, gateway {gateway}").format(
            case=labels.get("case", "?"),
            camera=labels.get("camera", "?"),
            gateway=labels.get("gateway", "?"),
        ),
        "  "
        + _("range {start} .. {end}, exported {created} by {operator}  (signed labels)").format(
            start=_shown(labels, "from", zone),
            end=_shown(labels, "to", zone),
            created=_shown(labels, "created", zone),
            operator=labels.get("operator", "?"),
        ),
        "  " + note(zone),
    ]
    lines += ["  " + _("manifest: {problem}").format(problem=p) for p in check.manifest_problems]
    lines.append(
        f"  {rjust(_('seq'), 6)}  {ljust(_('kind'), 9)}  {ljust(_('start'), 32)}  "
        f"{ljust(_('verdict'), 22)}  {_('detail')}"
    )
    for f in check.findings:
        lines.append(
            f"  {f.seq:>6}  {f.kind or '-':<9}  {show(f.start, zone):<32}  {f.verdict:<22}  "
            f"{f.detail}"
        )
    lines += [f"  ! {i.impact}: {i.detail}" for i in check.issues]
    key_note = (
        _("trusted")
        if check.key_source == KEY_FROM_CALLER
        else _("the package's own keys/device.pub: proves integrity, not origin")
    )
    lines.append(
        _("key: {key} ({note}; {origin})").format(
            key=check.fingerprint or "-", note=key_note, origin=check.origin
        )
    )
    lines.append(
        _("signed by: {signer}").format(
            signer=check.signer or _("nobody (no usable SIGNATURE.json)")
        )
    )
    lines.append(_("checkpoint: tree size {size}").format(size=check.checkpoint_size))
    lines.append(_("verdict: {verdict}").format(verdict=check.verdict))
    if check.verdict is Verdict.INTEGRITY_ONLY:
        lines.append(
            _(
                "origin NOT established: the package is consistent ({integrity}) with the key "
                "it carries itself, which anyone can make; {hint}"
            ).format(integrity=check.integrity, hint=_(ORIGIN_HINT))
        )
    return "\n".join(lines)


def _shown(labels: dict[str, str], name: str, zone: Zone) -> str:
    return show(labels[name], zone) if name in labels else "?"
