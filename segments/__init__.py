"""Segments: from packets to sealed evidence, and the offline checks of that evidence.

    recording    recorder (PTS → aligned segments), writer (fMP4), overlay (burn-in text),
                 pictures (sampled frames), clock, timeline
    sealing      age + agekeys (encryption), signing, records, ledger, checkpoint, merkle
    storage      store (`DataDir`, the on-disk layout), hashing, recovery, index (with
                 timestamp_queue beside it), ringbuffer
    checking     trust (the caller's keys), timestamp (RFC 3161 tokens), verify (streams),
                 slice_check, package (export format), package_signature (its signed statement),
                 package_check with package_claims; package_derive and package_rederive (the derived
                 copy, the only checking modules that load PyAV)
    errors       `SegmentError` and its subclasses

Import the module you need (`from segments.verify import verify`): this file imports
nothing, so a court expert's `evgw verify` never loads the video stack (PyAV, numpy,
OpenCV, Pillow) that only recording needs.
"""
