"""Archive sync throughput: `python -m tests.bench.bench_archive_sync [--gateways 10]
[--cameras 4] [--minutes 60] [--workers 8] [--sync-workers 8] [--database sqlite|postgresql]`.

Builds a bucket of G gateways x C cameras x N minutes of 60 s segments, sealed for real
(`tests/bench/archive_fleet.py`), in a local SeaweedFS, then times five `evgw archive sync`
runs, each a child process (`python -m gateway archive sync --json`) whose own rusage
(`os.wait4`: user + system CPU) and peak RSS (its VmHWM, see `LAUNCH`) are read when it ends:

  full         the first sync of the whole bucket;
  incremental  after one new minute on every camera of every gateway;
  idle         nothing new: what every sync pays to list from each stream's resume point;
  audit        `--audit`: the whole bucket listed, as every `[archive] audit_interval_h`;
  start-up     `--gateway` of one not in the bucket: the fixed cost of any run, taken off
               before the per-record and per-version figures.

The catalogue's database is SQLite (inside the sync's own process) or a local PostgreSQL,
whose backend CPU is read from the server's /proc entry (`cutime`, counted when the sync's
connection ends) and added for the per-record figure; SeaweedFS's CPU is shown beside it.
Then the projection for 1,000 gateways x 4 cameras; it is arithmetic on the measured
figures, printed as such.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evgw.progress import Progress
from testbeds.postgres import PostgresServer
from testbeds.seaweedfs import SeaweedServer
from tests.bench.archive_fleet import Added, Fleet, add_minutes, build_fleet
from tests.central.boxes import central_toml
from tests.support.seaweed import ACCESS_KEY, SECRET_KEY, settings_for
from uplink.objectstore import ObjectStore

REPO = Path(__file__).resolve().parents[2]
TICKS = os.sysconf("SC_CLK_TCK")
FLEET_GATEWAYS, FLEET_CAMERAS, DAY_MINUTES = 1000, 4, 1440
SYNC_EVERY_S = 600.0  # how often the projection assumes a sync runs
SETTLE_S = 3600.0  # the archive's default [archive] settle_s
PEAK_FILE = "EVGW_BENCH_PEAK_FILE"
LAUNCH = f"""
import atexit, os, runpy, sys
def peak():
    status = open("/proc/self/status").read()
    with open(os.environ["{PEAK_FILE}"], "w") as f:
        f.write(status.split("VmHWM:")[1].split()[0])
atexit.register(peak)
sys.argv[0] = "gateway"
runpy.run_module("gateway", run_name="__main__", alter_sys=True)
"""
"""`python -m gateway` that writes its peak RSS (KiB) to $EVGW_BENCH_PEAK_FILE on exit.

Not `ru_maxrss`: Linux keeps a process's high-water mark across exec, and `subprocess`
starts the child with vfork, so the child's figure would be at least the benchmark's own
(~100 MiB of fleet and clients). VmHWM belongs to the memory the child maps after exec."""


@dataclass(frozen=True)
class Measured:
    """One sync run: wall, its own CPU and peak RSS, the database's and store's CPU meanwhile."""

    wall_s: float
    cpu_s: float
    maxrss_mib: float
    db_cpu_s: float
    store_cpu_s: float
    counts: dict[str, int]
    findings: int

    @property
    def judged(self) -> int:
        """Records and checkpoints catalogued: what the per-record cost divides by."""
        return self.counts["records"] + self.counts["checkpoints"]

    @property
    def archive_cpu_s(self) -> float:
        return self.cpu_s + self.db_cpu_s


def process_cpu_s(pid: int | None) -> float:
    """User + system CPU of `pid` and its waited-for children so far (0 without a pid)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / TICKS  # utime, stime, cutime, cstime


def run_sync(config: Path, db_pid: int | None, store_pid: int | None, *extra: str) -> Measured:
    """Run `archive sync --json [extra …]` as a child process and measure it."""
    cmd = [sys.executable, "-c", LAUNCH, "archive", "sync", "--config", str(config), "--json"]
    cmd += extra
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile() as peak:  # fmt: skip
        env = {**os.environ, PEAK_FILE: peak.name}
        db0, store0 = process_cpu_s(db_pid), process_cpu_s(store_pid)
        began = time.perf_counter()
        child = subprocess.Popen(cmd, cwd=REPO, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - began
        child.returncode = os.waitstatus_to_exitcode(status)
        db1, store1 = process_cpu_s(db_pid), process_cpu_s(store_pid)
        out.seek(0)
        err.seek(0)
        if child.returncode not in (0, 1):
            message = err.read().decode(errors="replace")
            raise SystemExit(f"archive sync exited {child.returncode}:\n{message}")
        body: dict[str, Any] = json.loads(out.read())
        peak_kib = int(Path(peak.name).read_text())
    return Measured(
        wall_s=wall,
        cpu_s=usage.ru_utime + usage.ru_stime,
        maxrss_mib=peak_kib / 1024,
        db_cpu_s=db1 - db0,
        store_cpu_s=store1 - store0,
        counts=body["counts"],
        findings=len(body["findings"]),
    )


@contextmanager
def catalogue_database(kind: str, root: Path) -> Iterator[tuple[str, int | None]]:
    """(URL, server pid) of an empty catalogue database: a SQLite file or a local PostgreSQL."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'catalogue.db'}", None
        return
    server = PostgresServer().start()
    try:
        url = server.create_database("bench").render_as_string(hide_password=False)
        yield url, server.pid
    finally:
        server.stop()
        server.remove()


def expect(run: Measured, added: Added, what: str) -> None:
    """The sync catalogued exactly what was generated, and found nothing wrong."""
    got = (run.counts["records"], run.counts["checkpoints"], run.findings)
    if got != (added.records, added.checkpoints, 0):
        raise SystemExit(
            f"{what} sync catalogued {got[0]} records and {got[1]} checkpoints with {got[2]} "
            f"findings; the bucket got {added.records} and {added.checkpoints}: "
            "the benchmark or the sync is broken"
        )


def generate(fleet: Fleet, minutes: int, store: ObjectStore, workers: int, what: str) -> Added:
    line = Progress(sys.stderr, f"sealing and uploading {what}", lambda n: f"{n} gateways")
    added = add_minutes(fleet, minutes, store, workers, line)
    line.finish()
    print(
        f"{what}: {added.records} records, {added.checkpoints} checkpoints, {added.objects} "
        f"objects; generated in {added.generate_s:.1f} s, uploads finished "
        f"{added.upload_s:.1f} s later (not measured)"
    )
    return added


def show(name: str, run: Measured) -> None:
    c = run.counts
    rate = run.judged / run.wall_s if run.judged else 0.0
    print(
        f"  {name:<11} {run.wall_s:7.2f} s wall  {run.cpu_s:7.2f} s CPU  "
        f"{run.maxrss_mib:6.1f} MiB peak  listed {c['listed']:>7}  new {c['new_versions']:>7}  "
        f"records+checkpoints {run.judged:>7}  {rate:7.1f}/s"
    )
    print(
        f"  {'':<11} database CPU {run.db_cpu_s:6.2f} s (0 on SQLite: in the sync's)  "
        f"SeaweedFS CPU {run.store_cpu_s:6.2f} s"
    )


def measure(args: argparse.Namespace, root: Path) -> None:
    with SeaweedServer(root / "seaweed", ACCESS_KEY, SECRET_KEY) as server:
        store = ObjectStore(settings_for(server, "bench"))
        store.ensure_bucket(object_lock=True)
        fleet = build_fleet(root / "gateways", args.gateways, args.cameras, args.checkpoint_every)
        base = generate(fleet, args.minutes, store, args.workers, "base set")
        with catalogue_database(args.database, root) as (url, db_pid):
            config = central_toml(
                root, server.endpoint_url, "bench", url, fleet.trusted_keys(), SETTLE_S,
                workers=args.sync_workers,
            )  # fmt: skip
            full = run_sync(config, db_pid, server.pid)
            expect(full, base, "the full")
            one = generate(fleet, 1, store, args.workers, "one new minute on every camera")
            incremental = run_sync(config, db_pid, server.pid)
            expect(incremental, one, "the incremental")
            idle = run_sync(config, db_pid, server.pid)
            audit = run_sync(config, db_pid, server.pid, "--audit")
            expect(audit, Added(0, 0, 0, 0.0, 0.0), "the audit")
            startup = run_sync(config, db_pid, server.pid, "--gateway", "gw-none")
    print(f"archive sync on {args.database}, [store] workers = {args.sync_workers}:")
    runs = {"full": full, "incremental": incremental, "idle": idle, "audit": audit,
            "start-up": startup}  # fmt: skip
    for name, run in runs.items():
        show(name, run)
    project(args, runs)


def project(args: argparse.Namespace, runs: dict[str, Measured]) -> None:
    """Arithmetic on the measured runs, for 1,000 gateways x 4 cameras; printed as projection.

    Every run pays the start-up run's cost (Python, boto3, SQLAlchemy, config, connect) once;
    it is taken off before dividing, so the per-record and per-version costs are the work's.
    """
    full, incremental, idle, audit = runs["full"], runs["incremental"], runs["idle"], runs["audit"]
    fixed, fixed_wall = runs["start-up"].archive_cpu_s, runs["start-up"].wall_s
    per_segment = 1 + 1 / args.checkpoint_every  # a record, and a share of a checkpoint
    versions_per_segment = 1 + per_segment  # plus the segment object
    arriving = FLEET_GATEWAYS * FLEET_CAMERAS * per_segment / 60
    cpu_full = max(full.archive_cpu_s - fixed, 0.0) / full.judged
    new_cpu = max(incremental.archive_cpu_s - idle.archive_cpu_s, 0.0) / incremental.judged
    idle_cpu = max(idle.archive_cpu_s - fixed, 0.0) / args.gateways
    idle_wall = max(idle.wall_s - fixed_wall, 0.0) / args.gateways
    audit_cpu = max(audit.archive_cpu_s - fixed, 0.0) / audit.counts["listed"]
    audit_wall = max(audit.wall_s - fixed_wall, 0.0) / audit.counts["listed"]
    day_versions = FLEET_GATEWAYS * FLEET_CAMERAS * DAY_MINUTES * versions_per_segment
    issue_judged = 100 * 4 * DAY_MINUTES * per_segment
    wall_per = max(full.wall_s - fixed_wall, 0.0) / full.judged
    print("projection (arithmetic on the figures above, not a measurement):")
    print(
        f"  {cpu_full * 1000:.2f} ms CPU per record or checkpoint in the full sync "
        f"(sync process + database, start-up taken off); {new_cpu * 1000:.2f} ms per new one "
        "in the incremental sync beyond the idle run"
    )
    print(
        f"  1,000 gateways x 4 cameras, one 60 s segment a camera-minute: {arriving:.1f} "
        f"records+checkpoints/s arrive -> {arriving * cpu_full:.2f} cores at the full-sync "
        f"rate, {arriving * new_cpu:.2f} at the incremental rate, plus listing:"
    )
    print(
        f"  a sync with nothing new lists {idle.counts['listed'] / args.gateways:.0f} versions "
        f"a gateway: {idle_cpu * 1000:.1f} ms CPU and {idle_wall * 1000:.1f} ms wall a "
        f"gateway, whatever the bucket keeps; 1,000 gateways synced every "
        f"{SYNC_EVERY_S / 60:.0f} min: {FLEET_GATEWAYS * idle_cpu / SYNC_EVERY_S:.2f} cores"
    )
    print(
        f"  an audit lists every version: {audit_cpu * 1e6:.1f} us CPU and "
        f"{audit_wall * 1e6:.1f} us wall per version; each day kept at 1,000 gateways adds "
        f"{day_versions:,.0f} versions, {day_versions * audit_cpu:,.0f} CPU-s to every audit; "
        f"one audit a day ([archive] audit_interval_h = 24): "
        f"{day_versions * audit_cpu / 86400:.3f} cores per day of evidence kept (the store's "
        "own listing CPU comes on top)"
    )
    print(
        f"  the issue's 100 x 4 x 1440 bucket ({issue_judged:,.0f} records+checkpoints): full "
        f"sync ~{issue_judged * wall_per / 60:,.0f} min wall, "
        f"~{issue_judged * cpu_full / 60:,.0f} CPU-min at this run's rates"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--gateways", type=int, default=10)
    parser.add_argument("--cameras", type=int, default=4)
    parser.add_argument("--minutes", type=int, default=60, help="60 s segments per camera")
    parser.add_argument("--workers", type=int, default=8, help="parallel uploads while building")
    parser.add_argument("--sync-workers", type=int, default=8, help="the sync's [store] workers")
    parser.add_argument("--checkpoint-every", type=int, default=10, help="records a checkpoint")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args(argv)
    print(
        f"{args.gateways} gateways x {args.cameras} cameras x {args.minutes} minutes, a "
        f"checkpoint every {args.checkpoint_every} records; {os.cpu_count()} CPUs"
    )
    with tempfile.TemporaryDirectory(prefix="evgw-bench-archive-") as tmp:
        measure(args, Path(tmp))


if __name__ == "__main__":
    main()
