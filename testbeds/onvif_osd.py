"""The emulated camera's OSDs: options, the OSDs on its video source, create/set/delete.

State lives per device in an `OsdStore` (thread-safe: the HTTP server is threaded); `clear`
is what a reboot does to it on cameras that keep OSDs in RAM. Requests are checked as a
strict camera would: the video source must exist, the position, text type and date/time
formats must be ones the options list, the text at most `MAX_TEXT` characters and the
count within the limits; anything else raises `OsdRequestError`, which the SOAP layer turns
into a fault. No sockets here: the SOAP responder calls in with parsed request elements.
"""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from xml.sax.saxutils import escape, quoteattr

from cameras.safe_xml import child, text_of

VIDEO_SOURCES = ("vsc0",)  # the video source configuration every emulated profile uses
MAX_TOTAL = 4
MAX_PLAIN = 2
MAX_DATE_TIME = 1
MAX_TEXT = 64
POSITIONS = ("UpperLeft", "UpperRight", "LowerLeft", "LowerRight", "Custom")
TEXT_TYPES = ("Plain", "Date", "Time", "DateAndTime")
DATE_FORMATS = ("MM/dd/yyyy", "dd/MM/yyyy", "yyyy/MM/dd", "yyyy-MM-dd")
TIME_FORMATS = ("hh:mm:ss tt", "HH:mm:ss")


class OsdRequestError(Exception):
    """A request the camera refuses: `subcode` names the ONVIF error, `reason` says why."""

    def __init__(self, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.subcode, self.reason = subcode, reason


@dataclass(frozen=True)
class SimOsd:
    token: str
    source: str
    position: str
    text_type: str
    plain_text: str = ""
    date_format: str = ""
    time_format: str = ""
    pos: tuple[str, str] | None = None  # a Custom position's x and y, as sent

    def xml(self, tag: str) -> str:
        pos = (
            ""
            if self.pos is None
            else f"<tt:Pos x={quoteattr(self.pos[0])} y={quoteattr(self.pos[1])}/>"
        )
        string = f"<tt:Type>{self.text_type}</tt:Type>"
        if self.date_format:
            string += f"<tt:DateFormat>{escape(self.date_format)}</tt:DateFormat>"
        if self.time_format:
            string += f"<tt:TimeFormat>{escape(self.time_format)}</tt:TimeFormat>"
        if self.plain_text:
            string += f"<tt:PlainText>{escape(self.plain_text)}</tt:PlainText>"
        return (
            f"<{tag} token={quoteattr(self.token)}><tt:VideoSourceConfigurationToken>"
            f"{escape(self.source)}</tt:VideoSourceConfigurationToken><tt:Type>Text</tt:Type>"
            f"<tt:Position><tt:Type>{self.position}</tt:Type>{pos}</tt:Position>"
            f"<tt:TextString>{string}</tt:TextString></{tag}>"
        )


class OsdStore:
    """The OSDs one emulated camera shows; `creates` and `sets` count calls for tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._osds: dict[str, SimOsd] = {}
        self._next = 1
        self.creates = 0
        self.sets = 0
        self.cut_text_at: int | None = None  # show only this much of a text, as some cameras do

    def clear(self) -> None:
        """A reboot: the OSDs are gone and tokens count from 1 again."""
        with self._lock:
            self._osds.clear()
            self._next = 1

    def snapshot(self) -> tuple[SimOsd, ...]:
        with self._lock:
            return tuple(self._osds.values())

    def options_xml(self, request: ET.Element) -> str:
        _source(request, "ConfigurationToken")
        words = "".join(f"<tt:PositionOption>{p}</tt:PositionOption>" for p in POSITIONS)
        text = "".join(f"<tt:Type>{t}</tt:Type>" for t in TEXT_TYPES)
        text += "".join(f"<tt:DateFormat>{f}</tt:DateFormat>" for f in DATE_FORMATS)
        text += "".join(f"<tt:TimeFormat>{f}</tt:TimeFormat>" for f in TIME_FORMATS)
        return (
            "<trt:GetOSDOptionsResponse><trt:OSDOptions>"
            f'<tt:MaximumNumberOfOSDs Total="{MAX_TOTAL}" PlainText="{MAX_PLAIN}" '
            f'DateAndTime="{MAX_DATE_TIME}"/><tt:Type>Text</tt:Type>{words}'
            f"<tt:TextOption>{text}</tt:TextOption></trt:OSDOptions></trt:GetOSDOptionsResponse>"
        )

    def osds_xml(self, request: ET.Element) -> str:
        wanted = text_of(child(request, "ConfigurationToken"))
        shown = [o for o in self.snapshot() if not wanted or o.source == wanted]
        osds = "".join(o.xml("trt:OSDs") for o in shown)
        return f"<trt:GetOSDsResponse>{osds}</trt:GetOSDsResponse>"

    def create(self, request: ET.Element) -> str:
        osd = self._cut(_osd(request))
        with self._lock:
            others = list(self._osds.values())
            _check_room(others, osd)
            token = f"osd{self._next}"
            self._next += 1
            self._osds[token] = replace(osd, token=token)
            self.creates += 1
        return (
            f"<trt:CreateOSDResponse><trt:OSDToken>{token}</trt:OSDToken></trt:CreateOSDResponse>"
        )

    def set(self, request: ET.Element) -> str:
        osd = self._cut(_osd(request))
        with self._lock:
            if osd.token not in self._osds:
                raise OsdRequestError("ter:NoConfig", f"no OSD {osd.token!r}")
            _check_room([o for t, o in self._osds.items() if t != osd.token], osd)
            self._osds[osd.token] = osd
            self.sets += 1
        return "<trt:SetOSDResponse/>"

    def _cut(self, osd: SimOsd) -> SimOsd:
        limit = self.cut_text_at
        return osd if limit is None else replace(osd, plain_text=osd.plain_text[:limit])

    def delete(self, request: ET.Element) -> str:
        token = text_of(child(request, "OSDToken"))
        with self._lock:
            if self._osds.pop(token, None) is None:
                raise OsdRequestError("ter:NoConfig", f"no OSD {token!r}")
        return "<trt:DeleteOSDResponse/>"


def _source(request: ET.Element, name: str) -> str:
    token = text_of(child(request, name))
    if token not in VIDEO_SOURCES:
        raise OsdRequestError("ter:NoConfig", f"no video source configuration {token!r}")
    return token


def _osd(request: ET.Element) -> SimOsd:
    """The OSD element of CreateOSD/SetOSD, checked against the options."""
    element = child(request, "OSD")
    if element is None:
        raise OsdRequestError("ter:InvalidArgVal", "OSD missing")
    if text_of(child(element, "Type")) != "Text":
        raise OsdRequestError("ter:InvalidArgVal", "only text OSDs are supported")
    position = child(element, "Position")
    where = text_of(child(position, "Type")) if position is not None else ""
    if where not in POSITIONS:
        raise OsdRequestError("ter:InvalidArgVal", f"position {where!r} not supported")
    pos_element = child(position, "Pos") if position is not None else None
    pos = None if pos_element is None else (pos_element.get("x", ""), pos_element.get("y", ""))
    string = child(element, "TextString")
    if string is None:
        raise OsdRequestError("ter:InvalidArgVal", "TextString missing")
    text_type = text_of(child(string, "Type"))
    if text_type not in TEXT_TYPES:
        raise OsdRequestError("ter:InvalidArgVal", f"text type {text_type!r} not supported")
    osd = SimOsd(
        token=element.get("token", ""),
        source=_source(element, "VideoSourceConfigurationToken"),
        position=where,
        text_type=text_type,
        plain_text=text_of(child(string, "PlainText")),
        date_format=text_of(child(string, "DateFormat")),
        time_format=text_of(child(string, "TimeFormat")),
        pos=pos,
    )
    if osd.date_format and osd.date_format not in DATE_FORMATS:
        raise OsdRequestError("ter:InvalidArgVal", f"date format {osd.date_format!r}")
    if osd.time_format and osd.time_format not in TIME_FORMATS:
        raise OsdRequestError("ter:InvalidArgVal", f"time format {osd.time_format!r}")
    if len(osd.plain_text) > MAX_TEXT:
        raise OsdRequestError("ter:InvalidArgVal", f"text longer than {MAX_TEXT} characters")
    return osd


def _check_room(others: list[SimOsd], osd: SimOsd) -> None:
    if len(others) >= MAX_TOTAL:
        raise OsdRequestError("ter:MaxOSDs", f"at most {MAX_TOTAL} OSDs")
    same = sum(o.text_type == osd.text_type for o in others)
    limit = {"Plain": MAX_PLAIN, "DateAndTime": MAX_DATE_TIME}.get(osd.text_type)
    if limit is not None and same >= limit:
        raise OsdRequestError("ter:MaxOSDs", f"at most {limit} {osd.text_type} OSDs")
