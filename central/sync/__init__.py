"""`evgw archive sync`: list the bucket's object versions incrementally and catalogue them.

`object_names` reads what an object key says, `bucket` lists and fetches (the only S3 code),
`records` and `checkpoints` judge new records and checkpoints against the catalogue, `media`
pairs segment objects with their records, `service` runs a sync over one or every gateway.
"""
