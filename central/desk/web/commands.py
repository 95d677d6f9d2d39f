"""Legal hold, release and priority upload of the searched range, from the Cases page.

Each is a signed command (format v1, `uplink.signed_command`), signed with the desk's
`[desk] operator_key` and sent over the desk's `[mqtt]` link by `uplink.command_sender`, the
same code as `evgw command`; the gateway obeys only if its `[commands] operators` lists the
desk's public key, and its signed reply is shown as it came. The key is read for each command
(a fixed key file needs no restart) and never leaves the process. Every command, answered or
not, is audited with the officer's name and address, the nonce and the reply.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from central.catalogue.audit import AuditEntry
from central.config.load import CentralConfig
from evgw.errors import EvgwError, UsageError
from segments.errors import SegmentError
from segments.signing import Ed25519Signer, load_signer
from uplink.command_sender import send_command
from uplink.object_keys import ObjectKeyError, check_part
from uplink.settings import MqttSettings
from uplink.signed_command import ArgValue, EnvelopeError, SignedCommand, sign_command

from .cases import audit_now, cases_of, check_case, investigator, read_query
from .context import client_address, desk_of, render

ACTIONS = ("hold", "release", "upload-priority")
REPLY_TIMEOUT_S = 15.0


def operator_signer(config: CentralConfig) -> Ed25519Signer:
    """The desk's operator key; a clear refusal when it is not configured or unusable."""
    path = config.desk.operator_key if config.desk is not None else None
    if path is None:
        raise UsageError(
            f"{config.path}: no [desk] operator_key, so the desk sends no commands",
            hint="make one with `evgw keygen --operator --out DIR`, set [desk] operator_key, "
            "and list its public key in each gateway's [commands] operators",
        )
    try:
        return load_signer(path)
    except SegmentError as e:
        raise UsageError(f"{config.path} [desk] operator_key: {e}") from e


def mqtt_link(config: CentralConfig) -> MqttSettings:
    if config.mqtt is None:
        raise UsageError(
            f"{config.path}: no [mqtt] section, so the desk cannot reach the gateways",
            hint="add [mqtt] with the fleet's broker (the same keys as a gateway's [mqtt])",
        )
    return config.mqtt


def command_args(action: str, form: FormData) -> tuple[str, dict[str, ArgValue]]:
    """(gateway, the signed arguments), as `evgw command` builds them; times sent in UTC."""
    if action == "release":
        gateway = form.get("gateway", "")
        hold_id = form.get("hold_id", "")
        if not isinstance(gateway, str) or not isinstance(hold_id, str):
            raise UsageError("give gateway and hold_id")
        try:
            check_part(gateway, "gateway")
        except ObjectKeyError as e:
            raise UsageError(str(e)) from e
        if not hold_id.strip().isdigit() or len(hold_id) > 15:
            raise UsageError("hold id must be the number the hold command answered")
        return gateway, {"hold_id": int(hold_id)}
    query = read_query(form)
    start, end = query.range()
    found: dict[str, ArgValue] = {
        "camera": query.camera,
        "from": start.isoformat(),
        "to": end.isoformat(),
    }
    if action == "hold":
        found["case"] = check_case(form.get("case"))
    return query.gateway, found


def _sign(config: CentralConfig, action: str, form: FormData) -> SignedCommand:
    gateway, args = command_args(action, form)
    signer = operator_signer(config)
    try:
        return sign_command(signer, gateway=gateway, command=action, args=args, now=time.time())
    except EnvelopeError as e:
        raise UsageError(f"cannot send this command: {e.refusal.detail}") from e


async def send(request: Request) -> Response:
    """POST /cases/command: CSRF, role, a known action with valid arguments, the operator key
    and the [mqtt] link; then the signed command, the gateway's reply, the audit entry."""
    allowed = await investigator(request, form=True)
    if isinstance(allowed, Response):
        return allowed
    session, form = allowed
    config = cases_of(request).config
    action = form.get("action")
    try:
        if not isinstance(action, str) or action not in ACTIONS:
            raise UsageError(f"the desk sends {', '.join(ACTIONS)}; not {str(action)[:40]!r}")
        signed = _sign(config, action, form)
        link = mqtt_link(config)
    except EvgwError as e:
        message = str(e) if e.hint is None else f"{e} ({e.hint})"
        return render(request, "error.html", session=session, status=400, message=message)
    body = signed.body
    detail: dict[str, Any] = {"command": action, "gateway": body.gateway,
                              "args": dict(body.args), "nonce": body.nonce,
                              "key_id": body.key_id}  # fmt: skip
    reply: dict[str, Any] | None = None
    try:
        reply = await run_in_threadpool(send_command, link, signed, REPLY_TIMEOUT_S)
        error = None if reply.get("ok") is True else str(reply.get("error", "refused"))
    except EvgwError as e:
        error = str(e) if e.hint is None else f"{e} ({e.hint})"
    detail.update(ok=error is None, error=error, reply=reply)
    entry = AuditEntry(desk_of(request).now(), session.user, "command",
                       f"{body.gateway} {action}", detail, client_address(request))  # fmt: skip
    await desk_of(request).db(audit_now, entry)
    shown = {k: v for k, v in sorted((reply or {}).items()) if k not in ("ok", "error")}
    return render(request, "command.html", session=session, status=200 if error is None else 502,
                  action=action, gateway=body.gateway, error=error, reply=shown)  # fmt: skip
