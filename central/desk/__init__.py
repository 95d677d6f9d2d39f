"""The monitoring desk (issue 15): the fleet's MQTT reports kept in the catalogue database,
and a web application over them.

- `ingest`: subscribes to every gateway's state, health, camera health, alarms and events and
  writes the desk tables (`central.catalogue.desk_schema`), in batches, with a retention.
- `web`: the Starlette application that shows the fleet, alarms, history and cases, and
  records acknowledgements and the audit log.

The two meet only in the database (and `ingest.changes.fleet_version`), so ingest may run in
the web process or in another one.
"""
