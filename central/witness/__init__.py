"""The archive as witness: co-sign consistent checkpoints, hold boxes to what was co-signed."""
