"""MQTT → the desk tables: what the fleet reports, kept for the pages and their history.

`topics` says what a topic is, `reports` checks a payload and turns it into row values (both
pure), `alarms` keeps alarm occurrences from raised to cleared, `store` writes one batch per
transaction and applies the retention, `changes` is the counter the web app watches, and
`service` runs the MQTT client and the writer thread (`start_ingest`).
"""
