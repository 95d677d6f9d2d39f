"""Time `discover` of 20 emulated ONVIF cameras on loopback (target: ≤ 5 s).

Run: python3 -m tests.bench.bench_discovery [--cameras 20] [--probe-s 2.0]
"""

from __future__ import annotations

import argparse
import time

from cameras.onvif_client import discover
from testbeds.onvif_config import DeviceConfig, default_profiles
from testbeds.onvif_device import OnvifDevice

TARGET_S = 5.0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cameras", type=int, default=20)
    p.add_argument("--probe-s", type=float, default=2.0, help="probe listening window")
    args = p.parse_args()
    devices = [
        OnvifDevice(
            DeviceConfig(
                default_profiles(f"rtsp://127.0.0.1:8554/cam{i}"),
                serial=f"BENCH{i:03d}",
                username="admin",
                password="secret",
            )
        ).start()
        for i in range(args.cameras)
    ]
    try:
        start = time.monotonic()
        result = discover("127.0.0.1", args.probe_s, "admin", "secret")
        elapsed = time.monotonic() - start
    finally:
        for d in devices:
            d.stop()
    ours = {d.config.uuid for d in devices}
    found = sum(1 for i in result.devices if i.endpoint in ours)
    verdict = "OK" if found == args.cameras and elapsed <= TARGET_S else "MISSED"
    print(
        f"discover: {found}/{args.cameras} cameras in {elapsed:.2f} s "
        f"(probe window {args.probe_s:g} s, target {TARGET_S:g} s) {verdict}"
    )
    return 0 if verdict == "OK" else 1


if __name__ == "__main__":
    raise SystemExit(main())
