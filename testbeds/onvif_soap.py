"""The emulated camera's SOAP 1.2 device and media service, as bytes in and bytes out.

No sockets here: `respond` takes a request body and returns the HTTP status and the SOAP
envelope to send, so the HTTP server stays a thin shell and faults are easy to test. It
answers the operations the gateway uses (GetSystemDateAndTime, GetDeviceInformation,
GetCapabilities, GetServices, GetProfiles, GetStreamUri) and checks WS-Security
UsernameToken digests against the camera's own, optionally skewed, clock, as real cameras
do, which is why the gateway must read the camera's clock before it authenticates. The event
service (PullPoint subscriptions) is answered by `onvif_events`.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Protocol
from xml.sax.saxutils import escape

from cameras.errors import MalformedMessageError
from cameras.safe_xml import child, local, parse_xml, text_of
from cameras.wsd import NS_SOAP

from . import onvif_events
from .onvif_config import DeviceConfig, SimProfile
from .onvif_dialect import SOAP_PREFIXES, VENDOR, vendor
from .onvif_osd import OsdRequestError, OsdStore

MAX_REQUEST = 64 * 1024
MAX_CLOCK_DRIFT_S = 300.0
PRE_AUTH = frozenset({"GetSystemDateAndTime", "GetCapabilities", "GetServices"})
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
NS_TRT = "http://www.onvif.org/ver10/media/wsdl"
NS_TT = "http://www.onvif.org/ver10/schema"
NS_TER = "http://www.onvif.org/ver10/error"
NAMESPACES = (
    f'xmlns:s="{NS_SOAP}" xmlns:tds="{NS_TDS}" xmlns:trt="{NS_TRT}" '
    f'xmlns:tt="{NS_TT}" xmlns:ter="{NS_TER}"'
)


class ServedDevice(Protocol):
    """What the responder needs to know about the device it speaks for."""

    @property
    def config(self) -> DeviceConfig: ...

    @property
    def xaddr(self) -> str: ...

    def now(self) -> dt.datetime: ...

    @property
    def osd(self) -> OsdStore: ...


class SoapFault(Exception):
    """Becomes a SOAP Fault with this code, subcode and reason, sent with HTTP `status`."""

    def __init__(self, code: str, subcode: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.code, self.subcode, self.reason, self.status = code, subcode, reason, status


def envelope(body: str, header: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope {NAMESPACES}>'
        f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
    ).encode()


def fault_body(f: SoapFault) -> str:
    return (
        f"<s:Fault><s:Code><s:Value>s:{f.code}</s:Value><s:Subcode><s:Value>{f.subcode}"
        f'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">{escape(f.reason)}'
        "</s:Text></s:Reason></s:Fault>"
    )


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """WS-Security UsernameToken PasswordDigest: Base64(SHA1(nonce + created + password))."""
    return base64.b64encode(
        hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    ).decode()


def parse_created(text: str) -> dt.datetime:
    try:
        created = dt.datetime.fromisoformat(text.strip())
    except ValueError as e:
        raise SoapFault("Sender", "ter:NotAuthorized", "Created is not an xs:dateTime") from e
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def respond(device: ServedDevice, data: bytes) -> tuple[int, bytes]:
    """HTTP status and SOAP envelope answering the request body `data`, in its dialect."""
    try:
        status, reply = 200, envelope(answer(device, data))
    except SoapFault as f:
        status, reply = f.status, envelope(fault_body(f))
    if device.config.dialect == VENDOR:
        reply = vendor(reply, SOAP_PREFIXES)
    return status, reply


def answer(device: ServedDevice, data: bytes) -> str:
    """The SOAP Body content answering `data`; SoapFault for anything it must refuse."""
    try:
        root = parse_xml(data, MAX_REQUEST)
    except MalformedMessageError as e:
        raise SoapFault("Sender", "ter:WellFormed", str(e)) from e
    body = child(root, "Body")
    request = next(iter(body), None) if body is not None else None
    if request is None:
        raise SoapFault("Sender", "ter:InvalidArgs", "SOAP Body is empty")
    operation = local(request.tag)
    if operation not in PRE_AUTH:
        check_auth(device, child(root, "Header"))
    if operation == device.config.fail_operation:
        raise SoapFault("Receiver", "ter:Action", f"{operation} failed (simulated)", 500)
    if operation in EVENT_OPERATIONS:
        return event_operation(device, operation, request, child(root, "Header"))
    handler = OPERATIONS.get(operation)
    if handler is None:
        raise SoapFault("Receiver", "ter:ActionNotSupported", f"{operation} not supported")
    return handler(device, request)


def check_auth(device: ServedDevice, header: ET.Element | None) -> None:
    """Refuse unless the header's UsernameToken digest is right and fresh by the camera's clock."""
    cfg = device.config
    if cfg.username is None:
        return
    security = child(header, "Security") if header is not None else None
    token = child(security, "UsernameToken") if security is not None else None
    if token is None:
        raise SoapFault("Sender", "ter:NotAuthorized", "Sender not Authorized")
    password = child(token, "Password")
    created = text_of(child(token, "Created"))
    try:
        nonce = base64.b64decode(text_of(child(token, "Nonce")), validate=True)
    except ValueError as e:
        raise SoapFault("Sender", "ter:NotAuthorized", "Nonce is not base64") from e
    age = abs((device.now() - parse_created(created)).total_seconds())
    if age > MAX_CLOCK_DRIFT_S:
        raise SoapFault("Sender", "ter:NotAuthorized", "Created time is stale")
    expected = password_digest(nonce, created, cfg.password or "")
    ok_user = hmac.compare_digest(text_of(child(token, "Username")), cfg.username)
    if password is None or not (ok_user and hmac.compare_digest(text_of(password), expected)):
        raise SoapFault("Sender", "ter:NotAuthorized", "Sender not Authorized")


def date_time_xml(t: dt.datetime) -> str:
    return (
        f"<tt:Time><tt:Hour>{t.hour}</tt:Hour><tt:Minute>{t.minute}</tt:Minute>"
        f"<tt:Second>{t.second}</tt:Second></tt:Time><tt:Date><tt:Year>{t.year}</tt:Year>"
        f"<tt:Month>{t.month}</tt:Month><tt:Day>{t.day}</tt:Day></tt:Date>"
    )


def profile_xml(p: SimProfile) -> str:
    return (
        f'<trt:Profiles token="{escape(p.token)}" fixed="true"><tt:Name>{escape(p.name)}</tt:Name>'
        '<tt:VideoSourceConfiguration token="vsc0"><tt:Name>video source</tt:Name>'
        "<tt:UseCount>2</tt:UseCount><tt:SourceToken>vs0</tt:SourceToken>"
        f'<tt:Bounds x="0" y="0" width="{p.width}" height="{p.height}"/>'
        "</tt:VideoSourceConfiguration>"
        f'<tt:VideoEncoderConfiguration token="vec-{escape(p.token)}">'
        f"<tt:Name>{escape(p.name)}</tt:Name><tt:UseCount>1</tt:UseCount>"
        f"<tt:Encoding>{escape(p.encoding)}</tt:Encoding><tt:Resolution><tt:Width>{p.width}"
        f"</tt:Width><tt:Height>{p.height}</tt:Height></tt:Resolution><tt:Quality>5</tt:Quality>"
        f"<tt:RateControl><tt:FrameRateLimit>{p.fps}</tt:FrameRateLimit>"
        "<tt:EncodingInterval>1</tt:EncodingInterval><tt:BitrateLimit>2048</tt:BitrateLimit>"
        f"</tt:RateControl><tt:H264><tt:GovLength>{p.fps}</tt:GovLength>"
        "<tt:H264Profile>Baseline</tt:H264Profile></tt:H264><tt:Multicast><tt:Address>"
        "<tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>"
        "<tt:Port>0</tt:Port><tt:TTL>1</tt:TTL><tt:AutoStart>false</tt:AutoStart>"
        "</tt:Multicast><tt:SessionTimeout>PT60S</tt:SessionTimeout>"
        "</tt:VideoEncoderConfiguration></trt:Profiles>"
    )


def get_system_date_and_time(device: ServedDevice, _: ET.Element) -> str:
    t = device.now()
    return (
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
        "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false"
        "</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
        f"<tt:UTCDateTime>{date_time_xml(t)}</tt:UTCDateTime>"
        f"<tt:LocalDateTime>{date_time_xml(t)}</tt:LocalDateTime>"
        "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
    )


def get_device_information(device: ServedDevice, _: ET.Element) -> str:
    c = device.config
    return (
        f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{escape(c.manufacturer)}"
        f"</tds:Manufacturer><tds:Model>{escape(c.model)}</tds:Model><tds:FirmwareVersion>"
        f"{escape(c.firmware)}</tds:FirmwareVersion><tds:SerialNumber>{escape(c.serial)}"
        f"</tds:SerialNumber><tds:HardwareId>{escape(c.hardware_id)}</tds:HardwareId>"
        "</tds:GetDeviceInformationResponse>"
    )


def get_capabilities(device: ServedDevice, request: ET.Element | None) -> str:
    category = text_of(child(request, "Category")) if request is not None else ""
    if category == "Events" and not device.config.events:
        raise SoapFault("Receiver", "ter:NoSuchService", "no event service")
    x = device.xaddr
    events = events_capabilities(device) if category in ("Events", "All") else ""
    return (
        "<tds:GetCapabilitiesResponse><tds:Capabilities>"
        f"<tt:Device><tt:XAddr>{x}</tt:XAddr></tt:Device>{events}"
        f"<tt:Media><tt:XAddr>{x}</tt:XAddr><tt:StreamingCapabilities>"
        "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
        "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
        "</tds:Capabilities></tds:GetCapabilitiesResponse>"
    )


def get_services(device: ServedDevice, _: ET.Element) -> str:
    x = device.xaddr
    services = "".join(
        f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{x}</tds:XAddr>"
        f"{service_capabilities(device, ns)}"
        "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version>"
        "</tds:Service>"
        for ns in (NS_TDS, NS_TRT, *event_namespaces(device))
    )
    return f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"


def service_capabilities(device: ServedDevice, namespace: str) -> str:
    """The media service's capabilities (GetServices IncludeCapability): OSD support."""
    if namespace != NS_TRT:
        return ""
    osd = "true" if device.config.osd else "false"
    return f'<tds:Capabilities><trt:Capabilities OSD="{osd}" Rotation="false"/></tds:Capabilities>'


def get_profiles(device: ServedDevice, _: ET.Element) -> str:
    profiles = "".join(profile_xml(p) for p in device.config.profiles)
    return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"


def get_stream_uri(device: ServedDevice, request: ET.Element) -> str:
    token = text_of(child(request, "ProfileToken"))
    profile = next((p for p in device.config.profiles if p.token == token), None)
    if profile is None:
        raise SoapFault("Sender", "ter:InvalidArgVal", f"no profile {token!r}")
    return (
        f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{escape(profile.uri)}</tt:Uri>"
        "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>"
        "false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
        "</trt:GetStreamUriResponse>"
    )


def osd_operation(device: ServedDevice, request: ET.Element) -> str:
    """The OSD operations (`onvif_osd`): refused when the camera has no OSD or refuses to
    change it (`DeviceConfig.osd`, `osd_refusal`)."""
    operation, store, config = local(request.tag), device.osd, device.config
    if not config.osd:
        raise SoapFault("Receiver", "ter:ActionNotSupported", f"{operation} not supported")
    if config.osd_refusal and operation in ("CreateOSD", "SetOSD", "DeleteOSD"):
        raise SoapFault("Receiver", "ter:Action", config.osd_refusal, 500)
    calls = {
        "GetOSDOptions": store.options_xml,
        "GetOSDs": store.osds_xml,
        "CreateOSD": store.create,
        "SetOSD": store.set,
        "DeleteOSD": store.delete,
    }
    try:
        return calls[operation](request)
    except OsdRequestError as e:
        raise SoapFault("Sender", e.subcode, e.reason) from e


OPERATIONS: dict[str, Callable[[ServedDevice, ET.Element], str]] = {
    "GetSystemDateAndTime": get_system_date_and_time,
    "GetDeviceInformation": get_device_information,
    "GetCapabilities": get_capabilities,
    "GetServices": get_services,
    "GetProfiles": get_profiles,
    "GetStreamUri": get_stream_uri,
    "GetOSDOptions": osd_operation,
    "GetOSDs": osd_operation,
    "CreateOSD": osd_operation,
    "SetOSD": osd_operation,
    "DeleteOSD": osd_operation,
}


# --- event service (testbeds/onvif_events.py) --------------------------------------------------

EVENT_OPERATIONS = frozenset(
    {"CreatePullPointSubscription", "PullMessages", "Renew", "Unsubscribe"}
)


def event_namespaces(device: ServedDevice) -> tuple[str, ...]:
    return (onvif_events.NS_TEV,) if device.config.events else ()


def events_capabilities(device: ServedDevice) -> str:
    if not device.config.events:
        return ""
    return onvif_events.capabilities_xml(device.xaddr.replace("device_service", "event_service"))


def event_operation(
    device: ServedDevice, operation: str, request: ET.Element, header: ET.Element | None
) -> str:
    """The event service's answer; ActionNotSupported when the camera offers no events."""
    broker = getattr(device, "events", None)
    if not device.config.events or not isinstance(broker, onvif_events.EventBroker):
        raise SoapFault("Receiver", "ter:ActionNotSupported", f"{operation} not supported")
    base = device.xaddr.split("/onvif/", 1)[0]
    try:
        if operation == "CreatePullPointSubscription":
            return onvif_events.create_pull_point_subscription(broker, base, device.now(), request)
        sub_id = onvif_events.subscription_id(header)
        if operation == "PullMessages":
            return onvif_events.pull_messages(broker, device.now, request, sub_id)
        if operation == "Renew":
            return onvif_events.renew(broker, device.now(), request, sub_id)
        return onvif_events.unsubscribe(broker, sub_id)
    except onvif_events.EventFault as f:
        raise SoapFault("Sender", f.subcode, f.reason) from f
