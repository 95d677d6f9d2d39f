"""Camera side: RTSP input, reconnect policy, health counters, frozen-picture detection.

    rtsp          RTSP input via PyAV (`RtspStream`, `StreamSettings`)
    backoff       the reconnect policy (`Backoff`)
    health        per-camera health counters (`CameraHealth`, `HealthCounter`)
    freeze        frozen is not still: a stuck camera vs a motionless scene (pure)
    picture       what the freeze check keeps of a picture: motion grid, luma tiles
    discovery     WS-Discovery probes and the Hello/Bye listener (capped, never fatal)
    wsd           WS-Discovery messages (pure parsing)
    safe_xml      size-, depth- and DTD-capped XML parsing of untrusted messages
    rejects       rejected untrusted input: counted, logged once per sender
    onvif_client  ONVIF device and media queries
    onvif_replies reading ONVIF reply objects defensively
    onvif_transport  capped replies, https verification or pinning
    errors        `CameraError`, `StreamError`, `OnvifError` and their kin

Import the module you need: this file imports nothing, so using one part never loads the
others' libraries.
"""
