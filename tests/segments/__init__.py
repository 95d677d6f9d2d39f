"""Tests of the `segments` package, one module per source module."""
