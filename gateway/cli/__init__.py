"""The command line: `main` parses and dispatches, one thin module per command.

A command parses its arguments, calls one service, prints. Nothing outside this package
imports it.
"""
