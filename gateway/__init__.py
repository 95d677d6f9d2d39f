"""Configuration, CLI, daemon lifecycle and the wiring of cameras → segments → uplink."""
