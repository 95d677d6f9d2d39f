"""Fleet proof: 3 gateways x 4 cameras against one mosquitto and one SeaweedFS on loopback.

Every gateway is its own `python -m gateway run` process recording 4 passthrough cameras
(320x240@25, one RTSP simulator with 12 mounts). While they record, the script samples CPU
seconds and RSS of each gateway's process tree (the daemon and its camera processes) from
/proc every few seconds. At the end it asks `evgw monitor --once --json` whether all 12
cameras are OK, stops the gateways, drains their upload backlogs to 0, reads every sealed
segment and ledger record back from the object store and compares it with what was sealed,
and runs `evgw verify` on every data dir. Exit 0 only if all of that holds.

    .venv/bin/python -m tests.bench.fleet_proof --minutes 10
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from gateway.config import Config, load_config
from gateway.daemon.lifecycle import Gateway
from gateway.wiring import index_path
from segments.index import Index
from segments.ledger import read_records
from segments.store import StreamStore
from segments.verify import PASSING
from testbeds.mosquitto import MosquittoServer
from testbeds.process import find_free_port
from testbeds.rtsp import RtspTestServer
from tests.support.recording import make_keys, wall
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, raw_client, start_seaweed
from uplink.object_keys import media_key, record_key
from uplink.objectstore import ObjectStore

REPO = Path(__file__).resolve().parents[2]
GATEWAYS = 3
CAMERAS = 4
SITE = "集群测试站"
BUCKET = "fleet-evidence"
TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Usage:
    """CPU seconds and RSS of one gateway's process tree, as sampled."""

    cpu_s: float = 0.0
    peak_rss: int = 0
    peak_daemon_rss: int = 0
    _dead_cpu: dict[int, float] = field(default_factory=dict)


def tree(pid: int) -> list[int]:
    """`pid` and all its descendants (via /proc/<pid>/task/*/children)."""
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        try:
            for task in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{task}/children") as f:
                    todo += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def cpu_and_rss(pid: int) -> tuple[float, int] | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open(f"/proc/{pid}/statm") as f:
            rss_pages = int(f.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15. Reaped children's
    # cutime/cstime are left out: those children were sampled themselves while alive.
    cpu = sum(int(x) for x in fields[11:13]) / TICK
    return cpu, rss_pages * PAGE


def sample(pid: int, usage: Usage) -> None:
    """Fold one sample in; a child that died keeps its last CPU figure."""
    rss_total, cpu_now = 0, {}
    for p in tree(pid):
        got = cpu_and_rss(p)
        if got is None:
            continue
        cpu_now[p] = got[0]
        rss_total += got[1]
        if p == pid:
            usage.peak_daemon_rss = max(usage.peak_daemon_rss, got[1])
    usage._dead_cpu.update(cpu_now)
    usage.cpu_s = sum(usage._dead_cpu.values())
    usage.peak_rss = max(usage.peak_rss, rss_total)


def gateway_config(root: Path, n: int, camera_urls: list[str], broker: MosquittoServer,
                   endpoint: str, segment_seconds: int) -> Config:  # fmt: skip
    folder = root / f"gw-{n}"
    folder.mkdir(parents=True)
    device_key, recipient = make_keys(folder)
    cameras = "".join(
        f'[[cameras]]\nid = "cam-{n}-{i}"\nrtsp = "{url}"\n' for i, url in enumerate(camera_urls)
    )
    text = f"""
[gateway]
id = "gw-{n}"
site = "{SITE}"
data_dir = "{folder / "data"}"
timezone = "Asia/Shanghai"
[location]
name = "{SITE} {n}号卡口"
[keys]
signing_key = "{device_key}"
recipients = ["{recipient}"]
[recording]
segment_seconds = {segment_seconds}
overlay = "passthrough"
read_timeout_s = 5.0
[mqtt]
host = "127.0.0.1"
port = {broker.port}
health_interval_s = 5.0
[upload]
endpoint_url = "{endpoint}"
bucket = "{BUCKET}"
access_key = "{ACCESS_KEY}"
secret_key = "{SECRET_KEY}"
retention_days = 1
{cameras}"""
    path = folder / "evgw.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def monitor(broker: MosquittoServer) -> dict[str, str]:
    """Camera -> status from `evgw monitor --once --json`."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "monitor", "--broker", f"127.0.0.1:{broker.port}",
         "--once", "--json"],
        cwd=REPO, capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    view = json.loads(done.stdout)
    return {c["camera"]: c["status"] for g in view["gateways"] for c in g["cameras"]}


def check_stored(config: Config, client: object) -> tuple[int, int, list[str]]:
    """(segments, files checked, problems) for one gateway, read back from the store."""
    problems, segments, checked = [], 0, 0
    gw = config.gateway.id
    for camera in config.cameras:
        for r in read_records(StreamStore(config.gateway.data_dir, camera.id).root):
            if not r.file:
                continue
            segments += r.kind == "segment"
            start = wall(r.start)
            key = media_key(SITE, gw, camera.id, r.seq, start)
            try:
                body = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()  # type: ignore[attr-defined]
                meta = client.get_object(  # type: ignore[attr-defined]
                    Bucket=BUCKET, Key=record_key(SITE, gw, camera.id, r.seq, start)
                )["Body"].read()
            except Exception as e:  # every miss is reported, not raised
                problems.append(f"{key}: {e}")
                continue
            if hashlib.sha256(body).hexdigest() != r.sha256_cipher or meta != r.to_json():
                problems.append(f"{key}: stored bytes differ from the sealed record")
            checked += 1
    return segments, checked, problems


def backlog(config: Config) -> int:
    index = Index.open(index_path(config))
    try:
        return index.backlog().count
    finally:
        index.close()


def verify(config: Config) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "gateway", "verify", str(config.gateway.data_dir), "--json",
         "--pubkey", f"{config.keys.signing_key}.pub"],
        cwd=REPO, capture_output=True, timeout=600,
    )  # fmt: skip
    return str(json.loads(done.stdout)["verdict"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--segment-seconds", type=int, default=10)
    parser.add_argument("--sample-s", type=float, default=3.0)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    args = parser.parse_args()
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        return run(args, args.keep)
    with tempfile.TemporaryDirectory(prefix="evgw-fleet-") as tmp:
        return run(args, Path(tmp))


def run(args: argparse.Namespace, root: Path) -> int:
    mounts = [f"c{g}{c}:320x240@25" for g in range(GATEWAYS) for c in range(CAMERAS)]
    cameras = RtspTestServer(find_free_port(), mounts).start()
    broker = MosquittoServer(root / "mosquitto", None, False, None).start()
    store = start_seaweed(root / "seaweed")
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[IO[bytes]] = []
    try:
        configs = [
            gateway_config(
                root,
                n + 1,
                [cameras.url(f"c{n}{c}") for c in range(CAMERAS)],
                broker,
                store.endpoint_url,
                args.segment_seconds,
            )
            for n in range(GATEWAYS)
        ]
        assert configs[0].upload is not None
        ObjectStore(configs[0].upload.store).ensure_bucket(object_lock=True)
        for config in configs:
            logs.append((config.path.parent / "daemon.log").open("wb"))
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "gateway", "run", "--config", str(config.path)],
                cwd=REPO, stdout=logs[-1], stderr=logs[-1],
            ))  # fmt: skip
        usage = [Usage() for _ in procs]
        stop = threading.Event()

        def sampler() -> None:
            while not stop.wait(args.sample_s):
                for proc, u in zip(procs, usage, strict=True):
                    sample(proc.pid, u)

        thread = threading.Thread(target=sampler, daemon=True)
        thread.start()
        started = time.monotonic()
        print(f"recording {GATEWAYS} gateways x {CAMERAS} cameras for {args.minutes:g} min "
              f"in {root}", flush=True)  # fmt: skip
        while time.monotonic() - started < args.minutes * 60:
            time.sleep(5)
            dead = [
                c.gateway.id for c, p in zip(configs, procs, strict=True) if p.poll() is not None
            ]
            if dead:
                print(f"FAIL: gateway process ended early: {dead}")
                return 1
        statuses = monitor(broker)
        stop.set()
        thread.join()
        for proc, u in zip(procs, usage, strict=True):
            sample(proc.pid, u)
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(60) for proc in procs]
        # The last segments and checkpoints go out in one clean drain run per gateway.
        for config in configs:
            gateway = Gateway(config)
            gateway.start()
            gateway.stop(drain_s=180)
        return report(args, configs, usage, statuses, codes, raw_client(store))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for log in logs:
            log.close()
        store.stop()
        broker.stop()
        cameras.stop()


def report(args: argparse.Namespace, configs: list[Config], usage: list[Usage],
           statuses: dict[str, str], codes: list[int], client: object) -> int:  # fmt: skip
    ok = True
    expected = {c.id for config in configs for c in config.cameras}
    not_ok = {cam: s for cam, s in statuses.items() if s != "OK"}
    missing = expected - set(statuses)
    healthy = sum(s == "OK" for s in statuses.values())
    print(f"monitor: {healthy}/{len(expected)} cameras OK; not OK {not_ok}; missing {missing}")
    ok &= not not_ok and not missing
    minutes = args.minutes
    print("\n| gateway | exit | segments | files confirmed | backlog | verify | CPU s | "
          "% of a core | peak RSS (tree) | peak RSS (daemon) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for config, u, code in zip(configs, usage, codes, strict=True):
        segments, checked, problems = check_stored(config, client)
        left = backlog(config)
        verdict = verify(config)
        ok &= code == 0 and not problems and left == 0 and verdict in PASSING and segments > 0
        print(f"| {config.gateway.id} | {code} | {segments} | {checked} | {left} | {verdict} | "
              f"{u.cpu_s:.1f} | {100 * u.cpu_s / (minutes * 60):.1f} % | "
              f"{u.peak_rss / 2**20:.0f} MiB | {u.peak_daemon_rss / 2**20:.0f} MiB |")  # fmt: skip
        for problem in problems[:10]:
            print(f"  MISSING/DIFFERENT {problem}")
    total_cpu = sum(u.cpu_s for u in usage)
    total_rss = sum(u.peak_rss for u in usage)
    print(f"| total | | | | | | {total_cpu:.1f} | {100 * total_cpu / (minutes * 60):.1f} % | "
          f"{total_rss / 2**20:.0f} MiB | |")  # fmt: skip
    print("\nPASS" if ok else "\nFAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
