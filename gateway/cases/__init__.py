"""The investigator's services: find a camera's time range, export it as a case package.

`lookup` (which segments cover a range, where each is, what is missing), `export` (the case
package), `remux` (the derived MP4), `report` (the package's report). No argument parsing
here and no daemon: the command line and, later, the central desk call these services.
"""
