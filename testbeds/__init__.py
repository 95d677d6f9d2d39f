"""Test beds: simulators and local servers for the demo and the tests, not part of the product.

Nothing here is installed with evgw; it runs from a checkout (the tests, `./dev demo`).

- `process`: `LocalServer`, the one way a server process is spawned, awaited, stalled,
  killed and restarted; `find_free_port`, `free_ports`, `port_accepts`, `http_get`.
- `rtsp`: `RtspTestServer`, the RTSP camera (`rtsp_server.py`, run by Debian's
  /usr/bin/python3), and `gst_rtsp_available`.
- `onvif_device`: `OnvifDevice`, the ONVIF device emulator; its parts `onvif_config`
  (`DeviceConfig`, `SimProfile`, `default_profiles`), `onvif_soap` (the SOAP responder) and
  `onvif_discovery` (the WS-Discovery responder).
- `mosquitto`: `MosquittoServer`, the MQTT broker; `pki`: `write_test_pki` for its TLS.
- `seaweedfs`: `SeaweedServer`, the S3 central store with object lock; `find_weed`.
- `seaweed_cluster`: `SeaweedCluster`, SeaweedFS as master, 3 volume servers (every volume
  kept twice), filer and S3 gateway, for tests that lose a volume server.
- `postgres`: `PostgresServer`, a throw-away PostgreSQL for the archive catalogue;
  `find_pg_bindir`.
- `tsa`: `TsaServer`, an RFC 3161 TSA made of `openssl ts -reply`, and `write_tsa_pki`.
- `errors`: `ServerError`.

Modules are imported by name, so a test that needs one server loads nothing of the others.
"""
