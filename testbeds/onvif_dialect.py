"""Another vendor's ONVIF stack, as far as the wire shows: the same answers in another dialect.

Real cameras agree on namespaces, not on how they write them: other prefixes (``SOAP-ENV``,
``ns1``…), pretty-printed XML, vendor elements nobody asked for, a ``uuid:`` endpoint without
``urn:``, and scopes naming their own type, model and city. `vendor` rewrites what the emulator
sends that way (``DeviceConfig(dialect="vendor")``), so the gateway is shown to read what it
means, not what our own emulator happens to write.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from .onvif_config import DeviceConfig

EVGW, VENDOR = "evgw", "vendor"
DIALECTS = (EVGW, VENDOR)
SOAP_PREFIXES = {"s": "SOAP-ENV", "tds": "ns2", "trt": "ns3", "tt": "ns1", "ter": "ns4"}
WSD_PREFIXES = {"s": "SOAP-ENV", "a": "wsa", "d": "wsdd", "dn": "tdn"}
NS_VENDOR = "http://www.vendor.example/onvif/ext"
EXTENSION = (
    f'<hk:Extension xmlns:hk="{NS_VENDOR}"><hk:Capability name="smart">true</hk:Capability>'
    "<hk:Nested><hk:Depth>2</hk:Depth></hk:Nested></hk:Extension>"
)


def vendor(message: bytes, prefixes: dict[str, str]) -> bytes:
    """`message` with other prefixes, line breaks and indentation, a vendor header element."""
    text = message.decode()
    names = "|".join(prefixes)
    text = re.sub(rf"<(/?)({names}):", lambda m: f"<{m[1]}{prefixes[m[2]]}:", text)
    text = re.sub(rf"xmlns:({names})=", lambda m: f"xmlns:{prefixes[m[1]]}=", text)
    text = re.sub(rf">({names}):(\w)", lambda m: f">{prefixes[m[1]]}:{m[2]}", text)  # QNames
    header = prefixes["s"] + ":Header>"
    text = text.replace(f"<{header}", f"<{header}{EXTENSION}", 1)
    return re.sub(r">\s*<", ">\r\n    <", text).encode()


def vendor_scopes(config: DeviceConfig) -> str:
    """Scopes as a typical vendor stack announces them: its own type names and model."""
    return " ".join(
        [
            "onvif://www.onvif.org/type/NetworkVideoTransmitter",
            "onvif://www.onvif.org/Profile/Streaming",
            "onvif://www.onvif.org/Profile/T",
            f"onvif://www.onvif.org/hardware/{quote(config.model)}",
            f"onvif://www.onvif.org/name/{quote(config.manufacturer)}",
            f"onvif://www.onvif.org/location/city/{quote(config.location)}",
            "http://www.vendor.example/scope/serial-hidden",
        ]
    )


def vendor_endpoint(urn: str) -> str:
    """``uuid:…`` as some stacks write their endpoint address (no ``urn:``)."""
    return urn.removeprefix("urn:")
