"""Simulated cameras for the demo and the tests: an RTSP server (ONVIF device later)."""
