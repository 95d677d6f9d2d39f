"""Headquarters: the archive that holds every gateway to what it uploaded (DESIGN.md §9).

`config` reads the archive's TOML file; `catalogue` is the database of every object version
seen in the bucket, the records and checkpoints verified from them, and the findings; `sync`
lists the bucket incrementally and fills the catalogue; `cli` holds the `evgw archive`
commands, which the gateway's command line reaches by module path only. Submodules are
imported where used, so loading `central` loads neither SQLAlchemy nor boto3.
"""
