"""The monitoring desk (`evgw desk`): ingest stores the fleet's MQTT reports in the catalogue
database, the web application shows them to the desk officers (DESIGN.md §9)."""
