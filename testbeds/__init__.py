"""Test beds: simulators and local servers for the demo and the tests, not part of the product.

Nothing here is installed with evgw; it runs from a checkout (the tests, `./dev demo`). One
module per server: `rtsp` (the RTSP camera, served by `rtsp_server.py` under Debian's
/usr/bin/python3), `onvif_device` (the ONVIF device emulator), `mosquitto` (the MQTT broker)
and `seaweedfs` (the S3 central store). Modules are imported by name, so a test that needs
one server loads nothing of the others.
"""
