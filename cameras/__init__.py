"""Camera side: RTSP input, reconnect policy, health counters, frozen-picture detection.

    rtsp          RTSP input via PyAV (`RtspStream`, `StreamSettings`)
    backoff       the reconnect policy (`Backoff`)
    health        per-camera health counters (`CameraHealth`, `HealthCounter`)
    freeze        frozen-picture detection (OpenCV loads on first use)
    discovery     WS-Discovery
    onvif_client  ONVIF device and media queries
    errors        `CameraError`, `StreamError`

Import the module you need: this file imports nothing, so using one part never loads the
others' libraries.
"""
