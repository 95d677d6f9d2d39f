"""Uplink: everything that leaves the box.

Public surface, one module each: `objectstore` (S3 edge: checksummed, confirmed,
retention-locked PUTs), `uploader` (the durable queue worker), `object_keys` (where each
object goes), `mqtt` (the gateway's MQTT link and the fleet listener), `settings` (how to reach
the broker and the store, checked without loading paho or boto3), `errors`; and the local
servers the demo and the tests start: `seaweedfs`, `mosquitto`. Modules are imported by name,
so reading an error type does not load boto3 or paho.
"""
