"""ONVIF test camera: SOAP 1.2 device/media service plus a WS-Discovery responder on loopback.

It answers the operations the gateway uses (GetSystemDateAndTime, GetDeviceInformation,
GetCapabilities, GetServices, GetProfiles, GetStreamUri) with real SOAP, checks WS-Security
UsernameToken digests against its own, optionally skewed, clock, and points its stream URIs
at the RTSP test server. Several instances run side by side on different ports; restarting
one on another port with the same UUID models a camera whose IP address changed.

Example::

    python3 -m testbeds.onvif_device --rtsp rtsp://127.0.0.1:8554/cam2 --port 8080 \\
        --uuid urn:uuid:6f1c... --serial SIM001 --user admin --password secret
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import hmac
import logging
import select
import signal
import socket
import sys
import threading
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote
from xml.sax.saxutils import escape

from cameras.discovery import (
    ACTION_BYE,
    ACTION_HELLO,
    ACTION_PROBE_MATCHES,
    MULTICAST_GROUP,
    NS_DN,
    NS_SOAP,
    NS_WSA,
    NS_WSD,
    WSD_PORT,
    WSD_TO,
    MalformedMessageError,
    child,
    group_socket,
    local,
    parse_xml,
    sender_socket,
    text_of,
)

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
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


@dataclass(frozen=True)
class SimProfile:
    token: str
    name: str
    width: int
    height: int
    fps: int
    uri: str
    encoding: str = "H264"


@dataclass(frozen=True)
class DeviceConfig:
    """Identity, credentials and streams of one simulated camera."""

    profiles: tuple[SimProfile, ...]
    uuid: str = field(default_factory=lambda: uuid.uuid4().urn)
    serial: str = "SIM0001"
    manufacturer: str = "evgw"
    model: str = "SimCam-1"
    firmware: str = "1.0.0"
    hardware_id: str = "evgw-sim"
    name: str = "sim camera"
    location: str = "lab"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    clock_skew_s: float = 0.0
    fail_operation: str | None = None  # answer this operation with a Receiver fault


class SoapFault(Exception):
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


class OnvifDevice:
    """One simulated ONVIF camera: HTTP SOAP service on `port` plus a discovery responder."""

    def __init__(
        self,
        config: DeviceConfig,
        port: int = 0,
        *,
        discovery: bool = True,
        discovery_port: int = WSD_PORT,
    ) -> None:
        self.config = config
        self.port = port
        self.discovery = discovery
        self.discovery_port = discovery_port
        self._http: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._wsd: socket.socket | None = None
        self._metadata_version = 1

    @property
    def xaddr(self) -> str:
        return f"http://{HOST}:{self.port}/onvif/device_service"

    def now(self) -> dt.datetime:
        """The camera's own clock: the host clock plus the configured skew."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.config.clock_skew_s)

    def start(self) -> OnvifDevice:
        handler = type("Handler", (SoapHandler,), {"device": self})
        self._http = ThreadingHTTPServer((HOST, self.port), handler)
        self._http.daemon_threads = True
        self.port = int(self._http.server_address[1])
        self._stop.clear()
        self._spawn(self._http.serve_forever, "onvif-http")
        if self.discovery:
            self._wsd = group_socket(HOST, self.discovery_port)
            self._spawn(self._respond, "onvif-wsd")
            self.hello()
        return self

    def _spawn(self, target: Callable[[], None], name: str) -> None:
        t = threading.Thread(target=target, name=f"{name}-{self.port}", daemon=True)
        t.start()
        self._threads.append(t)

    def stop(self, *, announce: bool = True) -> None:
        """Stop serving; announce a Bye first unless `announce` is False (a power cut)."""
        if self._wsd is not None and announce:
            self.bye()
        self._stop.set()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()
        if self._wsd is not None:
            self._wsd.close()
            self._wsd = None

    def restart(self, port: int = 0) -> OnvifDevice:
        """Come back on another port (a new address) with the same identity."""
        self.stop()
        self.port = port
        self._metadata_version += 1
        return self.start()

    # --- WS-Discovery ----------------------------------------------------------------------

    def scopes(self) -> str:
        c = self.config
        return " ".join(
            [
                "onvif://www.onvif.org/type/video_encoder",
                "onvif://www.onvif.org/Profile/Streaming",
                f"onvif://www.onvif.org/name/{quote(c.name)}",
                f"onvif://www.onvif.org/location/{quote(c.location)}",
                f"onvif://www.onvif.org/hardware/{quote(c.model)}",
            ]
        )

    def _announcement(self, action: str, tag: str, relates_to: str = "") -> bytes:
        header = (
            f"<a:Action>{action}</a:Action><a:MessageID>{uuid.uuid4().urn}</a:MessageID>"
            f"<a:To>{WSD_TO}</a:To>"
        )
        if relates_to:
            header += f"<a:RelatesTo>{escape(relates_to)}</a:RelatesTo>"
        details = (
            "<d:Types>dn:NetworkVideoTransmitter</d:Types>"
            f"<d:Scopes>{escape(self.scopes())}</d:Scopes><d:XAddrs>{self.xaddr}</d:XAddrs>"
        )
        inner = (
            f"<a:EndpointReference><a:Address>{escape(self.config.uuid)}</a:Address>"
            f"</a:EndpointReference>{'' if tag == 'Bye' else details}"
            f"<d:MetadataVersion>{self._metadata_version}</d:MetadataVersion>"
        )
        body = (
            f"<d:ProbeMatches><d:ProbeMatch>{inner}</d:ProbeMatch></d:ProbeMatches>"
            if tag == "ProbeMatch"
            else f"<d:{tag}>{inner}</d:{tag}>"
        )
        return (
            f'<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="{NS_SOAP}" '
            f'xmlns:a="{NS_WSA}" xmlns:d="{NS_WSD}" xmlns:dn="{NS_DN}">'
            f"<s:Header>{header}</s:Header><s:Body>{body}</s:Body></s:Envelope>"
        ).encode()

    def _multicast(self, message: bytes) -> None:
        with sender_socket(HOST) as s:
            s.sendto(message, (MULTICAST_GROUP, self.discovery_port))

    def hello(self) -> None:
        self._multicast(self._announcement(ACTION_HELLO, "Hello"))

    def bye(self) -> None:
        self._multicast(self._announcement(ACTION_BYE, "Bye"))

    def _respond(self) -> None:
        sock = self._wsd
        assert sock is not None
        while not self._stop.is_set():
            ready, _, _ = select.select([sock], [], [], 0.2)
            if not ready:
                continue
            try:
                data, sender = sock.recvfrom(65535)
            except OSError:
                return
            if not sender[0].startswith("127."):
                continue  # confined to loopback: never answer a real network
            try:
                message_id = probe_id(data)
            except MalformedMessageError as e:
                log.debug("ignored datagram from %s: %s", sender, e)
                continue
            if message_id:
                reply = self._announcement(ACTION_PROBE_MATCHES, "ProbeMatch", message_id)
                sock.sendto(reply, sender)


def probe_id(data: bytes) -> str:
    """MessageID of a Probe for video transmitters (or for any type); "" for other messages."""
    root = parse_xml(data)
    header, body = child(root, "Header"), child(root, "Body")
    probe = child(body, "Probe") if body is not None else None
    if header is None or probe is None:
        return ""
    types = text_of(child(probe, "Types")).split()
    if types and not any(t.rsplit(":", 1)[-1] == "NetworkVideoTransmitter" for t in types):
        return ""
    return text_of(child(header, "MessageID"))[:256]


# --- SOAP service --------------------------------------------------------------------------


class SoapHandler(BaseHTTPRequestHandler):
    device: OnvifDevice
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        log.debug("onvif sim %s: " + format, self.device.port, *args)

    def do_POST(self) -> None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if not 0 < length <= MAX_REQUEST:
            self._send(413, envelope(fault_body(SoapFault("Sender", "ter:InvalidArgs", "size"))))
            self.close_connection = True
            return
        try:
            status, body = 200, self.device_answer(self.rfile.read(length))
        except SoapFault as f:
            status, body = f.status, fault_body(f)
        self._send(status, envelope(body))

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def device_answer(self, data: bytes) -> str:
        try:
            root = parse_xml(data, MAX_REQUEST)
        except MalformedMessageError as e:
            raise SoapFault("Sender", "ter:WellFormed", str(e)) from e
        body = child(root, "Body")
        request = next(iter(body), None) if body is not None else None
        if request is None:
            raise SoapFault("Sender", "ter:InvalidArgs", "SOAP Body is empty")
        operation = local(request.tag)
        cfg = self.device.config
        if operation not in PRE_AUTH:
            self.check_auth(child(root, "Header"))
        if operation == cfg.fail_operation:
            raise SoapFault("Receiver", "ter:Action", f"{operation} failed (simulated)", 500)
        answer = getattr(self, f"op_{operation}", None)
        if answer is None:
            raise SoapFault("Receiver", "ter:ActionNotSupported", f"{operation} not supported")
        result: str = answer(request)
        return result

    def check_auth(self, header: ET.Element | None) -> None:
        cfg = self.device.config
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
        age = abs((self.device.now() - parse_created(created)).total_seconds())
        if age > MAX_CLOCK_DRIFT_S:
            raise SoapFault("Sender", "ter:NotAuthorized", "Created time is stale")
        expected = password_digest(nonce, created, cfg.password or "")
        ok_user = hmac.compare_digest(text_of(child(token, "Username")), cfg.username)
        if password is None or not (ok_user and hmac.compare_digest(text_of(password), expected)):
            raise SoapFault("Sender", "ter:NotAuthorized", "Sender not Authorized")

    def op_GetSystemDateAndTime(self, _: ET.Element) -> str:
        t = self.device.now()
        return (
            "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>"
            "<tt:DateTimeType>Manual</tt:DateTimeType><tt:DaylightSavings>false"
            "</tt:DaylightSavings><tt:TimeZone><tt:TZ>UTC0</tt:TZ></tt:TimeZone>"
            f"<tt:UTCDateTime>{date_time_xml(t)}</tt:UTCDateTime>"
            f"<tt:LocalDateTime>{date_time_xml(t)}</tt:LocalDateTime>"
            "</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>"
        )

    def op_GetDeviceInformation(self, _: ET.Element) -> str:
        c = self.device.config
        return (
            f"<tds:GetDeviceInformationResponse><tds:Manufacturer>{escape(c.manufacturer)}"
            f"</tds:Manufacturer><tds:Model>{escape(c.model)}</tds:Model><tds:FirmwareVersion>"
            f"{escape(c.firmware)}</tds:FirmwareVersion><tds:SerialNumber>{escape(c.serial)}"
            f"</tds:SerialNumber><tds:HardwareId>{escape(c.hardware_id)}</tds:HardwareId>"
            "</tds:GetDeviceInformationResponse>"
        )

    def op_GetCapabilities(self, _: ET.Element) -> str:
        x = self.device.xaddr
        return (
            "<tds:GetCapabilitiesResponse><tds:Capabilities>"
            f"<tt:Device><tt:XAddr>{x}</tt:XAddr></tt:Device>"
            f"<tt:Media><tt:XAddr>{x}</tt:XAddr><tt:StreamingCapabilities>"
            "<tt:RTPMulticast>false</tt:RTPMulticast><tt:RTP_TCP>true</tt:RTP_TCP>"
            "<tt:RTP_RTSP_TCP>true</tt:RTP_RTSP_TCP></tt:StreamingCapabilities></tt:Media>"
            "</tds:Capabilities></tds:GetCapabilitiesResponse>"
        )

    def op_GetServices(self, _: ET.Element) -> str:
        x = self.device.xaddr
        services = "".join(
            f"<tds:Service><tds:Namespace>{ns}</tds:Namespace><tds:XAddr>{x}</tds:XAddr>"
            "<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version>"
            "</tds:Service>"
            for ns in (NS_TDS, NS_TRT)
        )
        return f"<tds:GetServicesResponse>{services}</tds:GetServicesResponse>"

    def op_GetProfiles(self, _: ET.Element) -> str:
        profiles = "".join(profile_xml(p) for p in self.device.config.profiles)
        return f"<trt:GetProfilesResponse>{profiles}</trt:GetProfilesResponse>"

    def op_GetStreamUri(self, request: ET.Element) -> str:
        token = text_of(child(request, "ProfileToken"))
        profile = next((p for p in self.device.config.profiles if p.token == token), None)
        if profile is None:
            raise SoapFault("Sender", "ter:InvalidArgVal", f"no profile {token!r}")
        return (
            f"<trt:GetStreamUriResponse><trt:MediaUri><tt:Uri>{escape(profile.uri)}</tt:Uri>"
            "<tt:InvalidAfterConnect>false</tt:InvalidAfterConnect><tt:InvalidAfterReboot>"
            "false</tt:InvalidAfterReboot><tt:Timeout>PT0S</tt:Timeout></trt:MediaUri>"
            "</trt:GetStreamUriResponse>"
        )


def default_profiles(main_uri: str, sub_uri: str | None = None) -> tuple[SimProfile, ...]:
    """A 1280x720 main stream and a 640x360 sub stream, as most cameras offer."""
    return (
        SimProfile("sub", "SubStream", 640, 360, 25, sub_uri or main_uri),
        SimProfile("main", "MainStream", 1280, 720, 25, main_uri),
    )


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rtsp", required=True, help="stream URI of the main profile")
    p.add_argument("--rtsp-sub", help="stream URI of the sub profile (default: --rtsp)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--uuid", default=uuid.uuid4().urn)
    p.add_argument("--serial", default="SIM0001")
    p.add_argument("--name", default="sim camera")
    p.add_argument("--location", default="lab")
    p.add_argument("--user")
    p.add_argument("--password")
    p.add_argument("--clock-skew", type=float, default=0.0, help="seconds added to the clock")
    args = p.parse_args(argv)
    config = DeviceConfig(
        profiles=default_profiles(args.rtsp, args.rtsp_sub),
        uuid=args.uuid,
        serial=args.serial,
        name=args.name,
        location=args.location,
        username=args.user,
        password=args.password,
        clock_skew_s=args.clock_skew,
    )
    device = OnvifDevice(config, args.port).start()
    print(f"READY {device.xaddr} {config.uuid}", flush=True)
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    device.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
