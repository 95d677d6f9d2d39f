"""Uplink: everything that leaves the box.

Public surface, one module each: `objectstore` (S3 edge: checksummed, confirmed,
retention-locked PUTs), `uploader` (the durable queue worker), `object_keys` (where each
object goes), `mqtt` (the gateway's MQTT link and the fleet listener), `errors`. Modules are
imported by name, so reading an error type does not load boto3 or paho.
"""
