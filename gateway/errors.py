"""Error root for the gateway package: configuration, CLI and daemon lifecycle."""


class EvgwError(Exception):
    """Base of every error raised by `gateway`; the message says what to do next."""


class ConfigError(EvgwError):
    """The configuration file is missing, malformed or invalid.

    The message names the file, the key path and the reason, e.g.
    ``/etc/evgw/evgw.toml: cameras[1].rtsp: must be an rtsp:// or rtsps:// URL, got 'http://x'``.
    """
