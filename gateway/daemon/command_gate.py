"""The door every MQTT command passes before the gateway obeys it.

A command must be a v1 envelope (`uplink.signed_command`) signed by an operator key that
`[commands] operators` lists, addressed to this gateway and to the topic it came on, issued
within `max_skew_s` of our clock, never seen before (its nonce is claimed in the index, so a
replay is refused after a restart too), and within its operator's rate. Each refusal is
reported as a `command_refused` event naming the reason and the key id when there is one,
each obeyed command as `command_done` (operator key id, nonce, outcome);
the reports themselves are rate-limited, so a flood of forged commands costs a bounded number
of events and log lines (the number left out travels with the next report as `suppressed`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol

from uplink.command_check import Keyring, Verified, check_command
from uplink.signed_command import Reason, Refusal

from ..config import CommandsConfig
from .rate_limit import RateLimiter

NONCE_KEEP_S = 86_400.0
"""Nonces are kept a day (at least twice the skew window): a clock stepped back by less
than that cannot revive a replay."""
REPORTS_PER_MINUTE = 30
REPORT_BURST = 10


class Nonces(Protocol):
    def nonce_seen(self, key_id: str, nonce: str) -> bool: ...
    def claim_nonce(
        self, key_id: str, nonce: str, issued_ts: float, forget_before: float
    ) -> bool: ...


class Emit(Protocol):
    def __call__(self, kind: str, **fields: Any) -> None: ...


class CommandGate:
    """Judges each command message; called from one thread (paho's network thread)."""

    def __init__(
        self,
        keyring: Keyring,
        gateway_id: str,
        limits: CommandsConfig,
        nonces: Nonces,
        emit: Emit,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.keyring = keyring
        self.gateway_id = gateway_id
        self.limits = limits
        self._nonces = nonces
        self._emit = emit
        self._clock = clock
        self._monotonic = monotonic
        self._rates = RateLimiter(limits.rate_per_minute, limits.burst)
        self._reports = RateLimiter(REPORTS_PER_MINUTE, REPORT_BURST)
        self._suppressed = 0

    def admit(self, name: str, payload: bytes) -> Verified | Refusal:
        """The verified command in a message received on `cmd/<name>`, or why it is refused."""
        now = self._clock()
        result = check_command(
            payload,
            keyring=self.keyring,
            gateway=self.gateway_id,
            topic_command=name,
            now=now,
            max_skew_s=self.limits.max_skew_s,
            seen=self._nonces.nonce_seen,
        )
        if isinstance(result, Verified):
            result = self._use(result, now)
        if isinstance(result, Refusal):
            self._report(name, result)
        return result

    def _use(self, verified: Verified, now: float) -> Verified | Refusal:
        """Claim the nonce (used once, whatever follows), then the operator's rate."""
        body = verified.body
        keep_s = max(NONCE_KEEP_S, 2 * self.limits.max_skew_s)
        if not self._nonces.claim_nonce(body.key_id, body.nonce, body.issued_ts, now - keep_s):
            detail = "this command was received before: commands run once; send a new one"
            return Refusal(Reason.REPLAYED, detail, body.key_id, body.nonce)
        if not self._rates.allow(body.key_id, self._monotonic()):
            detail = (
                f"operator {body.key_id} sent more than {self.limits.burst} commands at once or "
                f"{self.limits.rate_per_minute} a minute: wait, then send a new command"
            )
            return Refusal(Reason.RATE_LIMITED, detail, body.key_id, body.nonce)
        return verified

    def report_done(self, name: str, command: Verified, error: str | None) -> None:
        """An obeyed command is news for the desk too: who asked, and whether it worked."""
        fields: dict[str, Any] = {
            "command": name,
            "key_id": command.operator,
            "nonce": command.body.nonce,
            "ok": error is None,
        }
        self._emit("command_done", **fields, **({} if error is None else {"error": error}))

    def _report(self, name: str, refusal: Refusal) -> None:
        if not self._reports.allow("refused", self._monotonic()):
            self._suppressed += 1
            return
        fields: dict[str, Any] = {
            "command": name,
            "reason": str(refusal.reason),
            "detail": refusal.detail,
        }
        if refusal.key_id is not None:
            fields["key_id"] = refusal.key_id
        if self._suppressed:
            fields["suppressed"], self._suppressed = self._suppressed, 0
        self._emit("command_refused", **fields)
