"""A real RFC 3161 time-stamping authority on 127.0.0.1, made of `openssl ts -reply`.

`write_tsa_pki` makes a one-day CA and a TSA certificate it signed (critical extendedKeyUsage
timeStamping, as RFC 3161 §2.3 demands) with the `openssl` tool, and the `openssl ts`
configuration that signs with them. `TsaServer` answers each POSTed request by piping it
through `openssl ts -reply` and returning `application/timestamp-reply`, like a public TSA.

For the tests it can go offline (`stop`: the port refuses connections) and come back on the
same port (`start`); it serves https when given a server certificate; and `answer` replaces
how it answers a request (a reply for another nonce or another hash, garbage), so a client's
checks can be attacked with real replies.
"""

from __future__ import annotations

import ssl
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import ServerError
from .process import HOST, find_free_port

REPLY_TYPE = "application/timestamp-reply"
QUERY_TYPE = "application/timestamp-query"
POLICY = "1.3.6.1.4.1.99999.1.1"  # the default policy of the test TSA (a private arc)
OTHER_POLICY = "1.3.6.1.4.1.99999.1.2"
MAX_QUERY = 64 * 1024

_TS_CONFIG = """\
[ tsa ]
default_tsa = evgw_test_tsa

[ evgw_test_tsa ]
dir = {dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = {policy}
other_policies = {other}
digests = sha256, sha384, sha512
accuracy = secs:1
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""

_TSA_EXTENSIONS = """\
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, nonRepudiation
extendedKeyUsage = critical, timeStamping
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class TsaPki:
    """The files of one test TSA: its CA (the trust anchor), its certificate, key and config."""

    directory: Path
    ca_file: Path
    cert_file: Path
    key_file: Path
    config_file: Path


def openssl(*args: str, cwd: Path | None = None) -> bytes:
    """Run `openssl args...`; its stdout, or ServerError with what it printed."""
    try:
        done = subprocess.run(
            ["openssl", *args], cwd=cwd, capture_output=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ServerError(
            f"openssl {args[0]}: {e}; install openssl (Debian: apt install openssl)"
        ) from e
    if done.returncode != 0:
        err = done.stderr.decode(errors="replace").strip()
        raise ServerError(f"openssl {' '.join(args[:2])} failed ({done.returncode}): {err}")
    return done.stdout


def write_tsa_pki(directory: Path, ca: str = "evgw test TSA CA") -> TsaPki:
    """A one-day P-256 CA named `ca` and a TSA certificate it issued, in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl(
        "req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "1",
        "-subj", f"/CN={ca}",
        "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=directory,
    )  # fmt: skip
    openssl(
        "req", "-new", *ec, "-keyout", "tsa.key", "-out", "tsa.csr",
        "-subj", f"/CN={ca} time-stamping unit", cwd=directory,
    )  # fmt: skip
    (directory / "tsa.ext").write_text(_TSA_EXTENSIONS)
    openssl(
        "x509", "-req", "-in", "tsa.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-sha256", "-extfile", "tsa.ext", "-out", "tsa.pem",
        cwd=directory,
    )  # fmt: skip
    (directory / "serial").write_text("01\n")
    config = directory / "ts.cnf"
    config.write_text(_TS_CONFIG.format(dir=directory, policy=POLICY, other=OTHER_POLICY))
    return TsaPki(directory, directory / "ca.pem", directory / "tsa.pem", directory / "tsa.key",
                  config)  # fmt: skip


class TsaServer:
    """`openssl ts -reply` behind HTTP on 127.0.0.1:`port`; `url` is what clients POST to."""

    def __init__(
        self, pki: TsaPki, port: int | None = None, tls: tuple[Path, Path] | None = None
    ) -> None:
        """`tls` = (certificate, key) serves https with that server certificate."""
        self.pki = pki
        self.port = port or find_free_port()
        self.tls = tls
        self.url = f"{'https' if tls else 'http'}://{HOST}:{self.port}/tsa"
        self.answer: Callable[[bytes], bytes] | None = None
        self.requests = 0
        self._lock = threading.Lock()  # openssl ts -reply updates one serial file
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def reply_to(self, query: bytes) -> bytes:
        """The TSA's honest reply (a DER TimeStampResp) to the DER request `query`."""
        with self._lock, tempfile.TemporaryDirectory(dir=self.pki.directory) as tmp:
            path = Path(tmp) / "query.tsq"
            path.write_bytes(query)
            return openssl(
                "ts", "-reply", "-config", str(self.pki.config_file),
                "-queryfile", str(path), "-out", "/dev/stdout",
            )  # fmt: skip

    def start(self) -> TsaServer:
        """Listen (again, on the same port) and answer in a named thread."""
        if self._httpd is not None:
            return self
        try:
            self._httpd = ThreadingHTTPServer((HOST, self.port), _handler(self))
        except OSError as e:
            raise ServerError(f"test TSA cannot listen on {HOST}:{self.port}: {e}") from e
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name=f"tsa-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Go offline: close the port, so clients see the connection refused."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if thread is not None:
            thread.join(10)


def _handler(server: TsaServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if self.headers.get("Content-Type") != QUERY_TYPE or not 0 < length <= MAX_QUERY:
                self.send_error(400, "expected an application/timestamp-query body")
                return
            query = self.rfile.read(length)
            server.requests += 1
            try:
                reply = (server.answer or server.reply_to)(query)
            except ServerError as e:
                self.send_error(400, str(e)[:200])
                return
            self.send_response(200)
            self.send_header("Content-Type", REPLY_TYPE)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the tests read the replies, not an access log."""

    return Handler
