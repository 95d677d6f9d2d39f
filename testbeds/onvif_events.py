"""The emulated camera's ONVIF event service: PullPoint subscriptions over real SOAP.

`EventBroker` holds the subscriptions and their queues; tests raise notifications with
`OnvifDevice.raise_event`. The SOAP handlers answer CreatePullPointSubscription (a reference
address on the same HTTP server, one path per subscription), PullMessages (long-polls up to
its Timeout, at most MessageLimit messages), Renew and Unsubscribe. Which subscription a
request is for is read from its WS-Addressing `To` header, as zeep sends it. A subscription
not renewed in time expires, as on a real camera, and a pull on it is a fault.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
import threading
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

from cameras.safe_xml import child, text_of

MAX_QUEUE = 1000  # per subscription; the oldest notifications are dropped beyond it
MAX_TIMEOUT_S = 60.0
DEFAULT_TERMINATION_S = 60.0
NS_TEV = "http://www.onvif.org/ver10/events/wsdl"
NS_WSNT = "http://docs.oasis-open.org/wsn/b-2"
NS_WSA = "http://www.w3.org/2005/08/addressing"
NS_TNS1 = "http://www.onvif.org/ver10/topics"
EVENT_NS = (
    f'xmlns:tev="{NS_TEV}" xmlns:wsnt="{NS_WSNT}" xmlns:wsa5="{NS_WSA}" '
    f'xmlns:tns1="{NS_TNS1}" xmlns:tt="http://www.onvif.org/ver10/schema"'
)
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
SUBSCRIPTION_PATH = "/onvif/events/subscription/"
_DURATION = re.compile(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?")


class EventFault(Exception):
    """A request the event service refuses (unknown subscription, bad argument)."""

    def __init__(self, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.subcode, self.reason = subcode, reason


@dataclass(frozen=True)
class SimNotification:
    topic: str
    utc: dt.datetime
    source: Mapping[str, str]
    data: Mapping[str, str]
    operation: str = "Changed"


@dataclass
class _Subscription:
    expires: dt.datetime
    queue: deque[SimNotification] = field(default_factory=lambda: deque(maxlen=MAX_QUEUE))


class EventBroker:
    """Subscriptions and their queues, on the camera's clock; thread-safe."""

    def __init__(self, clock: Callable[[], dt.datetime]) -> None:
        self._clock = clock
        self._cond = threading.Condition()
        self._subs: dict[int, _Subscription] = {}
        self._ids = itertools.count(1)
        self._closed = False
        self.pulls = 0  # PullMessages answered: tests count
        self.renewals = 0
        self.unsubscribed = 0

    def subscribe(self, termination: dt.datetime) -> int:
        with self._cond:
            sub_id = next(self._ids)
            self._subs[sub_id] = _Subscription(termination)
            return sub_id

    def active(self) -> int:
        now = self._clock()
        with self._cond:
            return sum(s.expires > now for s in self._subs.values())

    def publish(self, notification: SimNotification) -> None:
        with self._cond:
            for sub in self._subs.values():
                sub.queue.append(notification)
            self._cond.notify_all()

    def pull(self, sub_id: int, timeout_s: float, limit: int) -> list[SimNotification]:
        """Up to `limit` queued notifications, waiting up to `timeout_s` for the first."""
        with self._cond:
            sub = self._live(sub_id)
            self._cond.wait_for(lambda: bool(sub.queue) or self._closed, timeout_s)
            self._live(sub_id)
            self.pulls += 1
            return [sub.queue.popleft() for _ in range(min(limit, len(sub.queue)))]

    def renew(self, sub_id: int, termination: dt.datetime) -> None:
        with self._cond:
            self._live(sub_id).expires = termination
            self.renewals += 1

    def unsubscribe(self, sub_id: int) -> None:
        with self._cond:
            self._live(sub_id)
            del self._subs[sub_id]
            self.unsubscribed += 1

    def close(self) -> None:
        """The device stops: every waiting pull returns, later ones fail."""
        with self._cond:
            self._closed = True
            self._subs.clear()
            self._cond.notify_all()

    def reopen(self) -> None:
        with self._cond:
            self._closed = False

    def _live(self, sub_id: int) -> _Subscription:
        sub = self._subs.get(sub_id)
        if sub is None or sub.expires <= self._clock():
            self._subs.pop(sub_id, None)
            raise EventFault("wsrf-rw:ResourceUnknownFault", f"no subscription {sub_id}")
        return sub


def iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def termination(text: str, now: dt.datetime) -> dt.datetime:
    """An xs:duration (``PT60S``) from now, or an absolute xs:dateTime; default 60 s."""
    text = text.strip()
    if not text:
        return now + dt.timedelta(seconds=DEFAULT_TERMINATION_S)
    m = _DURATION.fullmatch(text)
    if m and any(m.groups()):
        h, mi, s = (float(g or 0) for g in m.groups())
        return now + dt.timedelta(hours=h, minutes=mi, seconds=s)
    try:
        when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as e:
        raise EventFault("ter:InvalidArgVal", f"bad termination time {text[:40]!r}") from e
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def seconds(text: str, default: float) -> float:
    m = _DURATION.fullmatch(text.strip())
    if not m or not any(m.groups()):
        return default
    h, mi, s = (float(g or 0) for g in m.groups())
    return min(MAX_TIMEOUT_S, h * 3600 + mi * 60 + s)


def subscription_id(header: ET.Element | None) -> int:
    """The subscription named by the request's WS-Addressing To (…/subscription/<id>)."""
    to = text_of(child(header, "To")) if header is not None else ""
    tail = to.rsplit(SUBSCRIPTION_PATH, 1)[-1] if SUBSCRIPTION_PATH in to else ""
    if not tail.isdigit():
        raise EventFault("wsrf-rw:ResourceUnknownFault", "no subscription address in To")
    return int(tail)


def simple_items(items: Mapping[str, str]) -> str:
    return "".join(
        f"<tt:SimpleItem Name={quoteattr(k)} Value={quoteattr(v)}/>" for k, v in items.items()
    )


def notification_xml(n: SimNotification) -> str:
    return (
        f'<wsnt:NotificationMessage><wsnt:Topic Dialect="{CONCRETE_SET}">{escape(n.topic)}'
        f'</wsnt:Topic><wsnt:Message><tt:Message UtcTime="{iso(n.utc)}" '
        f"PropertyOperation={quoteattr(n.operation)}><tt:Source>{simple_items(n.source)}"
        f"</tt:Source><tt:Data>{simple_items(n.data)}</tt:Data></tt:Message></wsnt:Message>"
        "</wsnt:NotificationMessage>"
    )


def create_pull_point_subscription(
    broker: EventBroker, base: str, now: dt.datetime, request: ET.Element
) -> str:
    until = termination(text_of(child(request, "InitialTerminationTime")), now)
    sub_id = broker.subscribe(until)
    return (
        f"<tev:CreatePullPointSubscriptionResponse {EVENT_NS}><tev:SubscriptionReference>"
        f"<wsa5:Address>{escape(base)}{SUBSCRIPTION_PATH}{sub_id}</wsa5:Address>"
        f"</tev:SubscriptionReference><wsnt:CurrentTime>{iso(now)}</wsnt:CurrentTime>"
        f"<wsnt:TerminationTime>{iso(until)}</wsnt:TerminationTime>"
        "</tev:CreatePullPointSubscriptionResponse>"
    )


def pull_messages(
    broker: EventBroker, now: Callable[[], dt.datetime], request: ET.Element, sub_id: int
) -> str:
    timeout = seconds(text_of(child(request, "Timeout")), 10.0)
    try:
        limit = max(1, min(MAX_QUEUE, int(text_of(child(request, "MessageLimit")) or "100")))
    except ValueError as e:
        raise EventFault("ter:InvalidArgVal", "MessageLimit is not a number") from e
    found = broker.pull(sub_id, timeout, limit)
    t = now()
    return (
        f"<tev:PullMessagesResponse {EVENT_NS}><tev:CurrentTime>{iso(t)}</tev:CurrentTime>"
        f"<tev:TerminationTime>{iso(t + dt.timedelta(seconds=DEFAULT_TERMINATION_S))}"
        f"</tev:TerminationTime>{''.join(notification_xml(n) for n in found)}"
        "</tev:PullMessagesResponse>"
    )


def renew(broker: EventBroker, now: dt.datetime, request: ET.Element, sub_id: int) -> str:
    until = termination(text_of(child(request, "TerminationTime")), now)
    broker.renew(sub_id, until)
    return (
        f"<wsnt:RenewResponse {EVENT_NS}><wsnt:TerminationTime>{iso(until)}"
        f"</wsnt:TerminationTime><wsnt:CurrentTime>{iso(now)}</wsnt:CurrentTime>"
        "</wsnt:RenewResponse>"
    )


def unsubscribe(broker: EventBroker, sub_id: int) -> str:
    broker.unsubscribe(sub_id)
    return f"<wsnt:UnsubscribeResponse {EVENT_NS}/>"


def capabilities_xml(xaddr: str) -> str:
    return (
        f"<tt:Events><tt:XAddr>{escape(xaddr)}</tt:XAddr>"
        "<tt:WSSubscriptionPolicySupport>false</tt:WSSubscriptionPolicySupport>"
        "<tt:WSPullPointSupport>true</tt:WSPullPointSupport>"
        "<tt:WSPausableSubscriptionManagerInterfaceSupport>false"
        "</tt:WSPausableSubscriptionManagerInterfaceSupport></tt:Events>"
    )


def parse_event_line(line: str) -> SimNotification | None:
    """``TOPIC [Name=Value ...] [source.Name=Value ...]`` → a notification (demo input)."""
    words = line.split()
    if not words or "=" in words[0]:
        return None
    data: dict[str, str] = {}
    source: dict[str, str] = {}
    for word in words[1:]:
        name, eq, value = word.partition("=")
        if not eq or not name:
            return None
        if name.startswith("source."):
            source[name.removeprefix("source.")] = value
        else:
            data[name] = value
    return SimNotification(words[0], dt.datetime.now(dt.UTC), source, data)
