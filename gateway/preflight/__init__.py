"""Checks before the gateway records (`evgw check`, `evgw run --check`): everything that can be
checked without recording, every problem found, one line each.

`local` needs no network: key files and their modes, the data dir as the service user sees
it, the overlay font. `online` asks the servers the file names: the central store, the
broker, the cameras. Nothing here creates, changes or removes a file, or records anything.
"""
