"""Uplink: everything that leaves the box.

Public surface, one module each: `objectstore` (the S3 edge: checksummed, confirmed,
retention-locked PUTs; with `checksums`, `throttle` and `s3_errors` beside it), `uploader`
(the durable queue worker), `tsa_client` (asks an RFC 3161 TSA, checks its reply),
`timestamps` (the worker of the checkpoints' timestamp queue), `object_keys` (where each
object goes), `mqtt` (the gateway's MQTT link and its commands), `fleet` and `fleet_view` (the
monitoring desk's side: every gateway's retained values and the rows made of them),
`mqtt_client` (the paho client both sides use), `settings` (how to reach the broker and the
store, checked without loading paho or boto3), `errors`. Modules are imported by name, so
reading an error type does not load boto3 or paho.
"""
