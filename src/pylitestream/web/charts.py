"""The dashboard's history charts, drawn on the server as small inline SVG (no script, no CDN):
per database, the lag over the last day (the highest per interval) as a line, and each verify
as a dot on a strip below it, green when it passed, red when it failed."""

from __future__ import annotations

from typing import Any

Record = dict[str, Any]
SPAN = 86400.0
"""Seconds of history the charts show (less when the history is younger)."""
WIDTH, HEIGHT, STRIP = 300.0, 60.0, 14.0
"""The plot's size in SVG units, and the verify strip's height below it."""


def chart(kept: Record | None) -> Record | None:
    """What the template draws for one database's history (history_charts' entry): {"points"
    (the polyline), "max_lag", "start", "end", "span", "verifies": [{"x", "ok"}], "width",
    "height", "strip"}, or None when nothing is kept."""
    if not kept or not (kept["lag"] or kept["verifies"]):
        return None
    start, end = float(kept["start"]), float(kept["end"])
    span = max(end - start, 1.0)
    highest = max([float(lag) for _, lag in kept["lag"]] + [0.0])
    scale = max(highest, 1.0)

    def x(at: float) -> float:
        return round((at - start) / span * WIDTH, 1)

    points = " ".join(f"{x(at)},{round(HEIGHT - float(lag) / scale * HEIGHT, 1)}"
                      for at, lag in kept["lag"])  # fmt: skip
    return {
        "points": points,
        "max_lag": round(highest, 1),
        "span": span,
        "verifies": [{"x": x(at), "ok": ok} for at, ok in kept["verifies"]],
        "width": WIDTH,
        "height": HEIGHT,
        "strip": STRIP,
    }
