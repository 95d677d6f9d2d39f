"""The investigator's services: find a camera's time range, export it as a case package.

`lookup` (which records cover a range, what the time without a segment is), `find` (where
each segment is, its verdict), `export` (the case package), `originals` (the sealed files and
their plaintext), `report` (the package's report), `statement` (its signed statement). The
derived MP4's remux is `segments.package_derive`, which `verify-export --identity` re-runs.
No argument parsing here and no daemon: the command line and, later, the central desk call
these services.
"""
