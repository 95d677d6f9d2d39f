"""The emulated camera's WS-Discovery side: which Probes it answers (the rest in test_discovery)."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cameras.errors import MalformedMessageError
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_discovery import probe_id, scopes

pytestmark = pytest.mark.multicast


def test_probe_id_reads_video_transmitter_probes() -> None:
    probe = (
        '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" '
        'xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" '
        'xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header>'
        "<a:MessageID>urn:uuid:42</a:MessageID></s:Header><s:Body><d:Probe>"
        "<d:Types>{}</d:Types></d:Probe></s:Body></s:Envelope>"
    )
    assert probe_id(probe.format("dn:NetworkVideoTransmitter").encode()) == "urn:uuid:42"
    assert probe_id(probe.format("").encode()) == "urn:uuid:42"
    assert probe_id(probe.format("dn:Printer").encode()) == ""


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=1500))
def test_fuzz_probe_id_only_declared_error(data: bytes) -> None:
    with contextlib.suppress(MalformedMessageError):
        assert isinstance(probe_id(data), str)


def test_scopes_carry_name_and_location_url_quoted() -> None:
    config = DeviceConfig(default_profiles("rtsp://x"), name="一号 卡口", location="lab")
    announced = scopes(config).split()
    assert "onvif://www.onvif.org/name/%E4%B8%80%E5%8F%B7%20%E5%8D%A1%E5%8F%A3" in announced
    assert "onvif://www.onvif.org/location/lab" in announced
