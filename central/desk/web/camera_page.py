"""The camera page: its recording timeline from the archive catalogue with the gaps listed and
explained, its fps and bitrate plots, its alarms and events. The page's live refresh fetches
only the plots, alarms and events (a fragment): the desk's reports change them every few
seconds, while the timeline changes only when sync runs, and reading a day of 2 s segments
takes a few hundred milliseconds.

The window is the viewer's: `?hours=` (1 to MAX_HOURS, default 24) ending at `?end=` (an ISO
8601 time; default now), so an investigator can look at the night of an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from segments.errors import CryptoFormatError
from segments.timeline import parse_iso

from .accounts import Session
from .camera_data import CameraData, read_camera
from .context import desk_of, render
from .labels import labels
from .plots import line_plot
from .timeline import build, timeline_svg

DEFAULT_HOURS = 24
MAX_HOURS = 168


@dataclass(frozen=True)
class Window:
    start: float
    end: float
    hours: int


def window(request: Request, now: float) -> Window | str:
    """The viewer's window, or what is wrong with the query (shown as a 400 page)."""
    text = request.query_params.get("hours", str(DEFAULT_HOURS))
    try:
        hours = int(text)
    except ValueError:
        return f"hours= must be a whole number of hours (1 to {MAX_HOURS})."
    hours = min(max(hours, 1), MAX_HOURS)
    end = now
    if request.query_params.get("end"):
        try:
            when = parse_iso(request.query_params["end"][:64])
        except CryptoFormatError:
            when = None
        if when is None:
            return "end= must be an ISO 8601 time with its zone, e.g. 2026-12-02T10:00:00Z."
        end = when.timestamp()
    return Window(end - hours * 3600, end, hours)


async def _camera(request: Request, session: Session, template: str) -> Response:
    desk = desk_of(request)
    gateway, camera = request.path_params["gateway"], request.path_params["camera"]
    t = labels(request.headers.get("accept-language"))
    chosen = window(request, desk.now())
    if isinstance(chosen, str):
        return render(request, "error.html", session=session, status=400, message=chosen)
    whole = template == "camera.html"
    data: CameraData = await desk.db(read_camera, gateway, camera, chosen.start, chosen.end, whole)
    if not data.known:
        return render(request, "error.html", session=session, status=404, message=t["not_found"])
    timeline = build(data.entries, chosen.start, chosen.end)  # empty for the fragment
    title = t["timeline"].format(hours=chosen.hours)
    plots = [
        line_plot(data.samples.ts, values, start=chosen.start, end=chosen.end,
                  title=t[key], empty=t["no_samples"])
        for key, values in (("fps", data.samples.fps), ("bitrate", data.samples.bitrate_kbps))
    ]  # fmt: skip
    return render(
        request,
        template,
        session=session,
        gateway=gateway,
        camera=camera,
        fragment_url=f"/fragments/gateways/{quote(gateway, safe='')}/cameras/"
        f"{quote(camera, safe='')}",
        window=chosen,
        timeline_svg=timeline_svg(timeline, t, title),
        gaps=timeline.gaps,
        plots=plots,
        alarms=data.alarms,
        events=data.events,
    )


async def camera_page(request: Request, session: Session) -> Response:
    return await _camera(request, session, "camera.html")


async def camera_fragment(request: Request, session: Session) -> Response:
    return await _camera(request, session, "_camera_live.html")
