"""The investigator's services: find a camera's time range, export it as a case package.

`lookup` (the box's ledger for `segments.case_range`: which records cover a range, what the
time without a segment is), `find` (where each segment is, its verdict), `export` (the case
package), `originals` (the sealed files and their plaintext). The package's report, signed
statement and derived MP4 are `segments.package_report`, `package_statement` and
`package_derive`, shared with the archive's retrieval; `verify-export --identity` re-runs the
remux.
No argument parsing here and no daemon: the command line and, later, the central desk call
these services.
"""
