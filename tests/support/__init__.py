"""Helpers that start real servers (RTSP cameras, ...) for integration tests."""
