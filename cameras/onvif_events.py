"""A camera's ONVIF events over a PullPoint subscription, kept alive in a thread of its own.

`EventSubscriber` asks the device service where its event service is (GetCapabilities), then
`CreatePullPointSubscription`, and long-polls `PullMessages` (bounded wait, message limit),
`Renew`ing the subscription well before it ends and `Unsubscribe`-ing when stopped. A camera
that goes away is subscribed again with capped backoff. A camera without the event service
(no Events address, or ActionNotSupported from CreatePullPointSubscription) is reported
`unsupported` once and asked again only after `unsupported_retry_s`, not in a loop.

Replies come through the same hardened path as every ONVIF query (`onvif_client`): the
camera's clock offset in the WS-Security timestamp, a size cap, DTDs and entities refused;
each notification is read by `event_topics` into a bounded value, and one that cannot be
read is counted (`on_reject`), never fatal. Subscription addresses are asked at the host and
port we reached the device at, so a camera cannot steer our credentials elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import aiohttp
import zeep.exceptions
from onvif.client import ONVIFService
from onvif.exceptions import ONVIFError

from evgw.backoff import Backoff

from . import wsd
from .errors import OnvifError, OnvifReplyError
from .event_topics import Notification, notification_from_reply
from .onvif_client import NS_DEVICE, _call, _service
from .onvif_replies import rehost, text
from .onvif_transport import OnvifTls, ReplyTooLargeError

log = logging.getLogger(__name__)

NS_EVENTS = "http://www.onvif.org/ver10/events/wsdl"
SUBSCRIBED = "subscribed"
UNSUPPORTED = "unsupported"
UNSUBSCRIBE_S = 3.0  # a courtesy on the way out: never holds up a stop for long
NOT_SUPPORTED_CODES = frozenset({"ActionNotSupported", "ActionNotSupportedFault", "NoSuchService"})
T = TypeVar("T")


class EventServiceUnsupported(OnvifError):
    """The camera offers no PullPoint event service."""


class Flag(Protocol):
    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


@dataclass(frozen=True)
class EventTarget:
    """Where and how to reach a camera's device service, as last resolved."""

    xaddr: str
    username: str | None
    password: str | None
    clock_offset_s: float
    tls: OnvifTls


@dataclass(frozen=True)
class PullSettings:
    pull_timeout_s: float = 5.0  # PullMessages long-poll: also how quickly a stop is seen
    message_limit: int = 32
    lease_s: float = 60.0  # subscription length asked for; renewed at half of it
    call_timeout_s: float = 10.0  # every other call
    unsupported_retry_s: float = 3600.0


class PullPoint:
    """One PullPoint subscription on one camera (async; used by `EventSubscriber`)."""

    def __init__(self, target: EventTarget, settings: PullSettings) -> None:
        self.target = target
        self.settings = settings
        self._services: list[ONVIFService] = []
        self._pull: ONVIFService | None = None
        self._manager: ONVIFService | None = None
        self._renew_at = 0.0

    async def _make(self, xaddr: str, wsdl: str, binding: str) -> ONVIFService:
        t = self.target
        svc = await _service(xaddr, wsdl, binding, t.username, t.password, t.clock_offset_s, t.tls)
        self._services.append(svc)
        return svc

    def _call(self, svc: ONVIFService, operation: str, params: Any = None) -> Awaitable[Any]:
        return _call(svc, operation, self.target.username, params)

    async def open(self) -> None:
        """Find the event service and subscribe; `EventServiceUnsupported` when there is none."""
        t, s = self.target, self.settings
        device = await self._make(t.xaddr, "devicemgmt.wsdl", f"{{{NS_DEVICE}}}DeviceBinding")
        url = await self._events_xaddr(device)
        if not wsd.valid_xaddr(url):
            raise EventServiceUnsupported("the camera lists no event service")
        events = await self._make(
            rehost(url, t.xaddr), "events.wsdl", f"{{{NS_EVENTS}}}EventBinding"
        )
        lease = f"PT{int(s.lease_s)}S"
        try:
            reply = await self._call(
                events, "CreatePullPointSubscription", {"InitialTerminationTime": lease}
            )
        except zeep.exceptions.Fault as e:
            if fault_codes(e) & NOT_SUPPORTED_CODES:
                raise EventServiceUnsupported(f"CreatePullPointSubscription: {e.message}") from e
            raise
        address = getattr(getattr(reply, "SubscriptionReference", None), "Address", None)
        sub = text(address, "_value_1", wsd.MAX_URI)
        if not wsd.valid_xaddr(sub):
            raise OnvifReplyError("CreatePullPointSubscription returned no subscription address")
        sub = rehost(sub, t.xaddr)
        self._pull = await self._make(
            sub, "events.wsdl", f"{{{NS_EVENTS}}}PullPointSubscriptionBinding"
        )
        self._manager = await self._make(
            sub, "events.wsdl", f"{{{NS_EVENTS}}}SubscriptionManagerBinding"
        )
        self._renew_at = time.monotonic() + s.lease_s / 2

    async def _events_xaddr(self, device: ONVIFService) -> str:
        """The event service's address by GetCapabilities, else by GetServices (a camera
        without an Events category answers the first with a NoSuchService fault)."""
        try:
            caps = await self._call(device, "GetCapabilities", {"Category": "Events"})
            return text(getattr(caps, "Events", None), "XAddr", wsd.MAX_URI)
        except zeep.exceptions.Fault as e:
            if not fault_codes(e) & NOT_SUPPORTED_CODES:
                raise
        services = await self._call(device, "GetServices", {"IncludeCapability": False})
        listed = services if isinstance(services, list) else []
        for service in listed[: wsd.MAX_ITEMS]:
            if text(service, "Namespace", wsd.MAX_URI) == NS_EVENTS:
                return text(service, "XAddr", wsd.MAX_URI)
        return ""

    async def pull(self) -> tuple[list[Notification], int]:
        """Notifications of one PullMessages (renewing first when due), and how many of the
        messages were unreadable."""
        assert self._pull is not None and self._manager is not None
        s = self.settings
        if time.monotonic() >= self._renew_at:
            await self._call(self._manager, "Renew", {"TerminationTime": f"PT{int(s.lease_s)}S"})
            self._renew_at = time.monotonic() + s.lease_s / 2
        params = {"Timeout": f"PT{s.pull_timeout_s:g}S", "MessageLimit": s.message_limit}
        reply = await self._call(self._pull, "PullMessages", params)
        return read_messages(getattr(reply, "NotificationMessage", None), s.message_limit)

    async def close(self, unsubscribe: bool) -> None:
        try:
            if unsubscribe and self._manager is not None:
                async with asyncio.timeout(min(self.settings.call_timeout_s, UNSUBSCRIBE_S)):
                    await self._call(self._manager, "Unsubscribe")
        except Exception as e:  # a courtesy: the subscription expires on its own
            log.info("Unsubscribe failed (%s); the subscription will expire", describe(e))
        finally:
            for svc in self._services:
                await svc.close()
            self._services.clear()


def read_messages(raw: object, limit: int) -> tuple[list[Notification], int]:
    """The readable notifications among at most `limit` messages; unreadable ones counted.

    Messages past the limit we asked for are not read at all (counted as unreadable)."""
    if raw is None:
        return [], 0
    if not isinstance(raw, list):
        return [], 1
    found, bad = [], max(0, len(raw) - limit)
    for message in raw[:limit]:
        try:
            found.append(notification_from_reply(message))
        except OnvifReplyError as e:
            log.debug("unreadable notification: %s", e)
            bad += 1
    return found, bad


def fault_codes(fault: zeep.exceptions.Fault) -> set[str]:
    codes = [fault.code, *(fault.subcodes or [])]
    return {str(getattr(c, "localname", c)).rsplit(":", 1)[-1] for c in codes}


def describe(error: BaseException) -> str:
    """A short, bounded reason for health and logs (never a traceback)."""
    if isinstance(error, TimeoutError):
        return "timed out"
    if isinstance(error, zeep.exceptions.Fault):
        return f"SOAP fault {'/'.join(sorted(fault_codes(error)))}: {error.message}"[:200]
    if isinstance(error, zeep.exceptions.TransportError):
        return f"HTTP {error.status_code}"
    if isinstance(error, aiohttp.ClientConnectionError | OSError):
        return f"unreachable ({type(error).__name__})"
    return f"{type(error).__name__}: {error}"[:200]


class EventSubscriber(threading.Thread):
    """A named thread per camera: subscribe, pull, renew, resubscribe; stop on `stop`.

    `target()` is where the camera is now (None until it was resolved); a new address is
    subscribed at on the next reconnect. Callbacks run on this thread.
    """

    def __init__(
        self,
        name: str,
        target: Callable[[], EventTarget | None],
        on_notification: Callable[[Notification], None],
        on_status: Callable[[str], None],
        stop: Flag,
        *,
        settings: PullSettings | None = None,
        backoff: Backoff | None = None,
        on_reject: Callable[[int], None] | None = None,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(name=f"events-{name}", daemon=True)
        self._target = target
        self._on_notification = on_notification
        self._on_status = on_status
        self._stop_flag = stop
        self._settings = settings or PullSettings()
        self._backoff = backoff or Backoff(initial_s=1.0, cap_s=60.0)
        self._on_reject = on_reject
        self._on_idle = on_idle
        self._status: str | None = None

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("%s: event subscription ended unexpectedly", self.name)

    def _status_is(self, status: str) -> None:
        if status != self._status:
            self._status = status
            self._on_status(status)

    async def _main(self) -> None:
        while not self._stop_flag.is_set():
            target = self._target()
            if target is None:
                await self._sleep(1.0)
                continue
            delay = await self._subscription(target)
            await self._sleep(delay)

    async def _subscription(self, target: EventTarget) -> float:
        """Run one subscription until it fails or stop; the delay before the next."""
        point = PullPoint(target, self._settings)
        s = self._settings
        try:
            await self._bounded(point.open(), s.call_timeout_s)
            self._status_is(SUBSCRIBED)
            log.info("%s: subscribed to the camera's events", self.name)
            while not self._stop_flag.is_set():
                found, bad = await self._bounded(point.pull(), s.pull_timeout_s + s.call_timeout_s)
                self._backoff.reset()
                if bad and self._on_reject is not None:
                    self._on_reject(bad)
                for notification in found:
                    self._on_notification(notification)
                if self._on_idle is not None:
                    self._on_idle()
                now = self._target()
                if now is None or now.xaddr != target.xaddr:
                    log.info("%s: camera address changed; subscribing again", self.name)
                    return 0.0
            return 0.0
        except _Stopped:
            return 0.0
        except EventServiceUnsupported as e:
            log.info("%s: no event service (%s); asking again in %.0f s", self.name, e,
                     s.unsupported_retry_s)  # fmt: skip
            self._status_is(UNSUPPORTED)
            return s.unsupported_retry_s
        except ReplyTooLargeError as e:
            return self._failed(OnvifReplyError(str(e)))
        except (OnvifError, ONVIFError, zeep.exceptions.Error, aiohttp.ClientError) as e:
            return self._failed(e)
        except (TimeoutError, OSError, ValueError) as e:
            return self._failed(e)
        except Exception as e:  # a hostile reply must not end the thread
            log.debug("%s: unexpected failure", self.name, exc_info=True)
            return self._failed(e)
        finally:
            await point.close(unsubscribe=True)

    def _failed(self, error: BaseException) -> float:
        reason = describe(error)
        delay = self._backoff.next_delay()
        log.warning("%s: event subscription failed: %s; again in %.1f s", self.name, reason, delay)
        self._status_is(f"error: {reason}")
        return delay

    async def _bounded(self, work: Awaitable[T], timeout_s: float) -> T:
        """`work` within `timeout_s`, abandoned as soon as stop is asked."""
        task = asyncio.ensure_future(work)
        deadline = time.monotonic() + timeout_s
        try:
            while not task.done():
                if self._stop_flag.is_set():
                    raise _Stopped()
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError()
                await asyncio.wait({task}, timeout=min(0.2, left))
            return task.result()
        finally:
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

    async def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self._stop_flag.is_set() and time.monotonic() < end:
            await asyncio.sleep(min(0.2, end - time.monotonic()))


class _Stopped(Exception):
    """Stop was asked while a call was in flight."""
