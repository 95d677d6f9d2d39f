"""The broker options `monitor` and `command` share, and the settings made of them."""

from __future__ import annotations

import argparse
from pathlib import Path

from evgw.errors import UsageError
from evgw.i18n import _
from uplink.errors import SettingsError
from uplink.settings import MqttSettings

from . import args as common


def add_broker_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--broker", required=True, help=_("HOST[:PORT] (port 1883, or 8883 with --tls)"))
    p.add_argument("--tls", action="store_true", help=_("connect with TLS"))
    p.add_argument("--ca-file", type=Path, help=_("CA certificate for --tls (default: system CAs)"))
    p.add_argument("--username", help=_("MQTT user name"))
    p.add_argument("--password-file", type=Path, help=_("file holding the MQTT password"))
    p.add_argument("--topic-root", default="evgw", help=_("topic root (default evgw)"))


def broker_settings(args: argparse.Namespace) -> MqttSettings:
    """The options as checked settings; any mistake is a `UsageError` naming the option."""
    if args.password_file is not None and not args.username:
        raise UsageError("--password-file needs --username")
    host, port = parse_broker(args.broker, args.tls)
    password = None
    if args.password_file is not None:
        password = common.secret_file(args.password_file, "--password-file")
    try:
        return MqttSettings(
            host=host,
            port=port,
            tls=args.tls,
            ca_file=args.ca_file,
            username=args.username,
            password=password,
            topic_root=args.topic_root,
        )
    except SettingsError as e:
        raise UsageError(str(e)) from e


def parse_broker(text: str, tls: bool) -> tuple[str, int]:
    """``HOST[:PORT]`` or ``[V6]:PORT``; the port defaults to 8883 with TLS, else 1883."""
    default = 8883 if tls else 1883
    host, port = text, ""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise UsageError(f"--broker {text!r}: write an IPv6 address as [ADDR]:PORT")
        port = rest[1:]
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if not host:
        raise UsageError(f"--broker {text!r}: no host; use HOST[:PORT]")
    if not port:
        return host, default
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--broker {text!r}: port must be 1..65535")
    return host, int(port)
