"""Retrieval at headquarters: find and export a camera's time range from the bucket and the
catalogue alone, no box (issue 14, item 5).

`catalogued` (the catalogue queries), `source` (what retrieval reads, and the errors that say
what to do), `stream` (the records of a range, fetched at their pinned versions), `pinning`
(the checkpoint the slice is proven against: the newest witnessed one), `objects` (segment
objects by version, checked and decrypted), `find` and `export` (the services the commands
call). The package is the box's format (`segments.package*`), signed by the archive's
export key.
"""
