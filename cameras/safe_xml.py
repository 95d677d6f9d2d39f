"""Parse XML from the camera network: size-capped, depth-capped, DTDs and entities refused.

Everything WS-Discovery and our ONVIF emulator read passes through `parse_xml`, so one
hostile datagram can cost at most `limit` bytes of parsing and `max_depth` levels of tree,
and can never expand entities or fetch anything. Every failure is a `MalformedMessageError`.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from xml.parsers import expat

from .errors import MalformedMessageError

MAX_DEPTH = 64  # SOAP envelopes of the messages we read nest about 6 deep


def parse_xml(data: bytes, limit: int, max_depth: int = MAX_DEPTH) -> ET.Element:
    """Parse untrusted XML: size- and depth-capped, DOCTYPE refused (so no entities, no XXE)."""
    if len(data) > limit:
        raise MalformedMessageError(f"XML message of {len(data)} bytes exceeds {limit} bytes")
    parser = expat.ParserCreate(namespace_separator=" ")
    builder = ET.TreeBuilder()
    depth = [0]

    def name(raw: str) -> str:
        ns, _, tag = raw.rpartition(" ")
        return f"{{{ns}}}{tag}" if ns else tag

    def start(tag: str, attrs: dict[str, str]) -> None:
        depth[0] += 1
        if depth[0] > max_depth:
            raise MalformedMessageError(f"XML message nests deeper than {max_depth} elements")
        builder.start(name(tag), {name(k): v for k, v in attrs.items()})

    def end(tag: str) -> None:
        depth[0] -= 1
        builder.end(name(tag))

    def refuse(*_: object) -> int:
        raise MalformedMessageError("XML message carries a DTD or entity declaration; refused")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    try:
        parser.Parse(data, True)
        root = builder.close()
    except expat.ExpatError as e:
        raise MalformedMessageError(f"not well-formed XML: {e}") from e
    except (ValueError, AssertionError, RecursionError) as e:
        raise MalformedMessageError(f"unparsable XML: {e}") from e
    return root


def local(tag: object) -> str:
    """Local name of an ElementTree tag (``{ns}name`` → ``name``); "" for comments/PIs."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def child(elem: ET.Element, name: str) -> ET.Element | None:
    """The first child called `name` (any namespace); later repeats of a field are ignored."""
    return next((c for c in elem if local(c.tag) == name), None)


def text_of(elem: ET.Element | None) -> str:
    return "".join(elem.itertext()).strip() if elem is not None else ""
