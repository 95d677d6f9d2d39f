"""ONVIF test camera: the SOAP service over HTTP plus a WS-Discovery responder on loopback.

This module only runs things: an HTTP server thread feeding request bodies to
`onvif_soap.respond` and a `DiscoveryResponder`. Several instances run side by side on
different ports; restarting one on another port with the same UUID models a camera whose IP
address changed. Its stream URIs point at the RTSP test server.

Example::

    python3 -m testbeds.onvif_device --rtsp rtsp://127.0.0.1:8554/cam2 --port 8080 \\
        --uuid urn:uuid:6f1c... --serial SIM001 --user admin --password secret

With ``--events-from-stdin`` each line read raises a notification (demo), e.g.
``tns1:VideoSource/GlobalSceneChange/ImagingService State=true source.Source=vs0``;
``--no-events`` plays a camera without the event service.
A camera that signs its video: `--rtsp` names a `--file-mount` of the RTSP test server
serving a `testbeds.signed_stream` file (Media-Signing-style SEIs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import ssl
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cameras.wsd import WSD_PORT

from .onvif_config import DeviceConfig, default_profiles
from .onvif_discovery import DiscoveryResponder
from .onvif_events import EventBroker, SimNotification, parse_event_line
from .onvif_osd import OsdStore
from .onvif_soap import MAX_REQUEST, SoapFault, envelope, fault_body, respond
from .process import HOST

log = logging.getLogger(__name__)


class OnvifDevice:
    """One simulated ONVIF camera: HTTP SOAP service on `port` plus a discovery responder.

    With `tls` (certificate and key files) the service speaks https. `host` is the loopback
    address it serves and announces from (another 127.x address plays another machine).
    """

    def __init__(
        self,
        config: DeviceConfig,
        port: int = 0,
        *,
        discovery: bool = True,
        discovery_port: int = WSD_PORT,
        tls: tuple[Path, Path] | None = None,
        host: str = HOST,
    ) -> None:
        self.config = config
        self.port = port
        self.discovery = discovery
        self.discovery_port = discovery_port
        self.tls = tls
        self.host = host
        self._http: ThreadingHTTPServer | None = None
        self._http_thread: threading.Thread | None = None
        self._responder: DiscoveryResponder | None = None
        self._metadata_version = 1
        self.credentialed_requests = 0  # requests that carried a UsernameToken: tests count
        self.events = EventBroker(self.now)
        self.osd = OsdStore()

    @property
    def xaddr(self) -> str:
        scheme = "http" if self.tls is None else "https"
        return f"{scheme}://{self.host}:{self.port}/onvif/device_service"

    def now(self) -> dt.datetime:
        """The camera's own clock: the host clock plus the configured skew."""
        return dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.config.clock_skew_s)

    def start(self) -> OnvifDevice:
        self.events.reopen()
        handler = type("Handler", (_SoapHandler,), {"device": self})
        self._http = ThreadingHTTPServer((self.host, self.port), handler)
        self._http.daemon_threads = True
        if self.tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*self.tls)
            self._http.socket = context.wrap_socket(self._http.socket, server_side=True)
        self.port = int(self._http.server_address[1])
        self._http_thread = threading.Thread(
            target=self._http.serve_forever, name=f"onvif-http-{self.port}", daemon=True
        )
        self._http_thread.start()
        if self.discovery:
            self._responder = DiscoveryResponder(
                self.config, self.xaddr, self._metadata_version, self.discovery_port, self.host
            )
            self._responder.start()
        return self

    def stop(self, *, announce: bool = True) -> None:
        """Stop serving; announce a Bye first unless `announce` is False (a power cut)."""
        if self._responder is not None:
            self._responder.stop(announce=announce)
            self._responder = None
        self.events.close()
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None

    def raise_event(
        self,
        topic: str,
        data: dict[str, str] | None = None,
        source: dict[str, str] | None = None,
        operation: str = "Changed",
    ) -> None:
        """Queue a notification (``tns1:VideoSource/ImageTooDark``, data ``{"State": "true"}``)
        for every live PullPoint subscription, stamped with the camera's clock."""
        self.events.publish(
            SimNotification(topic, self.now(), dict(source or {}), dict(data or {}), operation)
        )

    def restart(self, port: int = 0) -> OnvifDevice:
        """Come back on another port (a new address) with the same identity."""
        self.stop()
        self.port = port
        self._metadata_version += 1
        return self.start()

    def reboot(self) -> OnvifDevice:
        """Come back at the same address, with what a reboot forgets (the OSDs) gone."""
        self.stop()
        self.osd.clear()
        return self.start()


class _SoapHandler(BaseHTTPRequestHandler):
    """HTTP shell around `onvif_soap.respond`: size limit, headers, nothing else."""

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
        body = self.rfile.read(length)
        if b"UsernameToken" in body:
            self.device.credentialed_requests += 1
        self._send(*respond(self.device, body))

    def _send(self, status: int, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/soap+xml; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("onvif sim %s: the client left before the answer", self.device.port)


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
    p.add_argument("--no-events", action="store_true", help="offer no event service")
    p.add_argument(
        "--events-from-stdin",
        action="store_true",
        help="raise a notification per line read: TOPIC [Name=Value ...] [source.Name=Value ...]",
    )
    p.add_argument("--osd-refusal", help="refuse to change the OSD, with this reason")
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
        events=not args.no_events,
        osd_refusal=args.osd_refusal,
    )
    device = OnvifDevice(config, args.port).start()
    print(f"READY {device.xaddr} {config.uuid}", flush=True)
    if args.events_from_stdin:
        threading.Thread(
            target=_events_from, args=(device,), name="onvif-stdin", daemon=True
        ).start()
    done = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: done.set())
    done.wait()
    device.stop()
    return 0


def _events_from(device: OnvifDevice) -> None:
    """Raise a notification for each line of stdin (until it closes); report bad lines."""
    for line in sys.stdin:
        parsed = parse_event_line(line)
        if parsed is None:
            print(f"not an event line: {line.strip()[:80]!r}", file=sys.stderr, flush=True)
            continue
        device.raise_event(parsed.topic, dict(parsed.data), dict(parsed.source))
        print(f"RAISED {parsed.topic}", flush=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
