"""The camera supervisor (thread `cameras`): restarts dead camera processes, kills hung ones.

Every round it lets each camera process notice a dead child and restart it after its backoff
(cameras enrolled while the daemon runs join the next round),
observes progress once for the whole daemon, and kills a child the liveness rules find hung
(or that sent nothing at all for too long); the next round restarts it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from .camera_process import CameraProcess
from .liveness import ProgressLimits, camera_problem
from .progress import ProgressTracker

log = logging.getLogger(__name__)


class CameraSupervisor(threading.Thread):
    """It restarts children: `stop` it after they are joined (the fork server, not this
    thread, is their parent, so its end kills none of them)."""

    def __init__(
        self,
        cameras: Sequence[CameraProcess],
        tracker: ProgressTracker,
        limits: ProgressLimits,
        period_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(name="cameras", daemon=True)
        self._cameras = cameras
        self._tracker = tracker
        self._limits = limits
        self._period_s = period_s
        self._clock = clock
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self._period_s):
            try:
                self.round()
            except Exception:
                log.exception("camera supervisor round failed")

    def round(self) -> None:
        cameras = list(self._cameras)  # auto-enrolment may add one while this round runs
        for camera in cameras:
            camera.check(self._clock())
        seen = self._tracker.observe()
        now = seen.at
        progress = {p.camera: p for p in seen.cameras}
        for camera in cameras:
            observed = progress.get(camera.camera)
            if observed is None or not camera.running():
                continue
            why = camera_problem(observed, now, self._limits) or camera.silence(now)
            if why is not None:
                camera.kill_hung(why)

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(5.0)
