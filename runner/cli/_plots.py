"""The report's figure (matplotlib, Agg): the incumbent over time and over trials with every
trial's cost coloured by status and sized by budget (see ``_plot_costs``), a worker timeline
where idle gaps show as blank, a device timeline when trials got shares of devices or cores
(``_devices``: one row per device, each bar a trial, labelled with its id when it fits), and
the learning curves.

Huge studies: the timeline draws one collection per lane and status and, in a lane with more
trials than pixels, one bar per run of pixel columns of one status (see ``lane_bars``);
learning curves are one line collection. Text from the journal goes through ``plain``: a ``$``
is a dollar sign, not mathtext."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from runner.cli._journal_view import Study
from runner.cli._plot_costs import OTHER, STATUS_COLOURS, costs_panel, incumbent_trace
from runner.lowlevel import plain

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from runner.cli._devices import DeviceUse

__all__ = ["STATUS_COLOURS", "figure", "incumbent_trace", "lane_bars", "png_bytes", "save_png"]

_PIXELS = 1100  # the timeline's width in pixels, about


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'trialrunner[plot]'") from None
    matplotlib.use("Agg", force=True)  # files only: never a window, works headless
    import matplotlib.pyplot as plt

    return plt


def lane_bars(spans: list[tuple[float, float, str]], pixel: float
              ) -> list[tuple[float, float, str]]:
    """``(left, width, status)`` bars drawing one lane's ``(start, end, status)`` spans when a
    pixel is ``pixel`` seconds wide. Few spans are drawn as they are (at least a pixel wide, so
    a short trial stays visible); more spans than pixels are downsampled: each pixel column
    takes the status that filled most of it, or stays blank (idle) when less than half of it
    was busy, and neighbouring columns of one status become one bar."""
    if len(spans) * 2 <= _PIXELS or pixel <= 0:
        return [(lo, max(hi - lo, pixel), status) for lo, hi, status in spans]
    busy: dict[int, dict[str, float]] = {}
    for lo, hi, status in spans:
        first, last = int(lo / pixel), int(hi / pixel)
        for column in range(first, last + 1):
            overlap = min(hi, (column + 1) * pixel) - max(lo, column * pixel)
            if overlap > 0:
                shares = busy.setdefault(column, {})
                shares[status] = shares.get(status, 0.0) + overlap
    bars: list[tuple[float, float, str]] = []
    for column in sorted(busy):
        shares = busy[column]
        if sum(shares.values()) < pixel / 2:
            continue
        status = max(shares, key=lambda s: shares[s])
        left = column * pixel
        if bars and bars[-1][2] == status and abs(bars[-1][0] + bars[-1][1] - left) < 1e-9 * (
                1 + left):
            bars[-1] = (bars[-1][0], bars[-1][1] + pixel, status)
        else:
            bars.append((left, pixel, status))
    return bars


def _draw_lane(ax: Any, lane: int, spans: list[tuple[float, float, str]], pixel: float,
               **style: Any) -> None:
    """One timeline row: ``spans`` as bars (`lane_bars`), one collection per status."""
    by_status: dict[str, list[tuple[float, float]]] = {}
    for left, width, status in lane_bars(spans, pixel):
        by_status.setdefault(status, []).append((left, width))
    for status, bars in by_status.items():
        ax.broken_barh(bars, (lane - 0.4, 0.8), facecolors=STATUS_COLOURS.get(status, OTHER),
                       **style)


def _timeline(ax: Any, study: Study, t0: float) -> None:
    lanes, recorded = study.lanes()
    spans = [a.span for a in study.attempts]
    pixel = (max((e for _, e in spans), default=t0) - t0) / _PIXELS
    by_lane: dict[int, list[tuple[float, float, str]]] = {}
    for attempt, lane, (start, end) in zip(study.attempts, lanes, spans, strict=True):
        by_lane.setdefault(lane, []).append((start - t0, end - t0, attempt.status))
    for lane, group in by_lane.items():
        _draw_lane(ax, lane, group, pixel, edgecolor="none")
    n = max(lanes) + 1 if lanes else 1
    ax.set_xlim(0, max(pixel * _PIXELS, 1e-9))
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_yticks(range(n) if n <= 40 else range(0, n, max(1, n // 20)))
    ax.set_ylabel("worker" if recorded else "lane")
    ax.set_xlabel("seconds since the first trial was submitted")
    ax.set_title("worker timeline (" + ("recorded workers" if recorded else
                 "lanes derived from start/end times") + "; gaps: idle)", fontsize=9)
    ax.grid(alpha=0.3, axis="x")


def _device_timeline(ax: Any, study: Study, uses: list[DeviceUse], t0: float) -> None:
    """One row per device, a bar per attempt that held it, coloured by status; each bar is
    labelled with the trial's journal id when the row has few enough bars to read them."""
    from runner.cli._devices import device_order

    order = device_order(uses, study)  # an unused device is an empty row
    row = {d: i for i, d in enumerate(order)}
    end = max(u.attempt.span[1] for u in uses) - t0
    pixel = max(end, 1e-9) / _PIXELS
    by_row: dict[int, list[tuple[float, float, str]]] = {}
    for use in uses:
        lo, hi = use.attempt.span
        by_row.setdefault(row[use.device], []).append((lo - t0, hi - t0, use.attempt.status))
    for lane, group in by_row.items():
        _draw_lane(ax, lane, group, pixel, edgecolor="white", linewidth=0.5)
    labelled = [u for u in uses if (u.attempt.span[1] - u.attempt.span[0]) / pixel >= 24]
    if len(labelled) <= 200:  # beyond that the labels are a blur: the table names the trials
        for use in labelled:
            lo, hi = use.attempt.span
            ax.text((lo + hi) / 2 - t0, row[use.device], str(use.attempt.trial), ha="center",
                    va="center", fontsize=6, color="white", clip_on=True)
    kind = "GPU" if uses[0].kind == "gpu" else "core"
    ax.set_xlim(0, max(end, 1e-9))
    ax.set_ylim(-0.6, len(order) - 0.4)
    step = 1 if len(order) <= 40 else max(1, len(order) // 20)
    ax.set_yticks(range(0, len(order), step))
    ax.set_yticklabels([plain(f"{kind} {d}") for d in order[::step]], fontsize=8)
    ax.set_xlabel("seconds since the first trial was submitted")
    ax.set_title(f"device timeline (which {kind} ran which trial; labels: trial ids; gaps: "
                 "free)", fontsize=9)
    ax.grid(alpha=0.3, axis="x")


def _curves(ax: Any, study: Study) -> None:
    """Every final attempt's learning curve: cost against step; a stopped trial ends in x."""
    from matplotlib.collections import LineCollection

    lines: list[list[tuple[float, float]]] = []
    ends: dict[str, tuple[list[float], list[float]]] = {"STOPPED": ([], []), "other": ([], [])}
    for a in study.finals:
        curve = study.curves.get((a.trial, a.attempt))
        if not curve:
            continue
        points = [(float(r.step), r.cost[0] if isinstance(r.cost, tuple) else r.cost)
                  for r in curve]
        lines.append(points)
        xs, ys = ends["STOPPED" if a.status == "STOPPED" else "other"]
        xs.append(points[-1][0])
        ys.append(points[-1][1])
    ax.add_collection(LineCollection(lines, linewidths=0.8, alpha=0.7, cmap="viridis",
                                     array=list(range(len(lines)))))
    ax.plot(*ends["other"], "o", color="black", ms=3, label="finished")
    ax.plot(*ends["STOPPED"], "x", color="#1f77b4", ms=4, label="stopped early")
    ax.autoscale_view()
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("reported cost", fontsize=8)
    ax.set_title("learning curves (colour: trial order; x: stopped early)", fontsize=9)
    ax.legend(fontsize=7, loc="best")
    ax.grid(alpha=0.3)


def figure(study: Study, devices: list[DeviceUse] | None = None) -> Figure:
    """The report's figure for ``study``: a row of learning curves when trials reported, a
    device timeline when ``devices`` (``_devices.device_uses``; read here when ``None``)."""
    plt = _pyplot()
    if devices is None:
        from runner.cli._devices import device_uses

        devices = device_uses(study)
    rows = 2 + bool(study.curves) + bool(devices)
    fig: Figure = plt.figure(figsize=(11, 4 * rows), layout="constrained")
    grid = fig.add_gridspec(rows, 2, height_ratios=[1] * rows)
    finals = study.finals
    starts = [a.submitted if a.submitted is not None else a.span[0] for a in study.attempts]
    t0 = min(starts) if starts else 0.0
    by_time = sorted(finals, key=lambda a: a.collected or a.span[1])
    ax = fig.add_subplot(grid[0, 0])
    costs_panel(ax, [(a.collected or a.span[1]) - t0 for a in by_time], by_time,
                "seconds since the first trial was submitted")
    ax.set_title("incumbent over time", fontsize=9)
    ax = fig.add_subplot(grid[0, 1])
    by_id = sorted(finals, key=lambda a: a.trial)
    costs_panel(ax, [float(a.trial) for a in by_id], by_id, "trial (journal id)")
    ax.set_title("incumbent over trials", fontsize=9)
    _timeline(fig.add_subplot(grid[1, :]), study, t0)
    if devices:
        _device_timeline(fig.add_subplot(grid[2, :]), study, devices, t0)
    if study.curves:
        _curves(fig.add_subplot(grid[rows - 1, :]), study)
    fig.suptitle(plain(f"{study.path}: {len(finals)} trials"), fontsize=10)
    return fig


def png_bytes(study: Study, devices: list[DeviceUse] | None = None) -> bytes:
    """The figure as a PNG file's bytes."""
    import io

    plt = _pyplot()
    fig = figure(study, devices)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, dpi=100, format="png")
    finally:
        plt.close(fig)
    return buffer.getvalue()


def save_png(study: Study, path: str) -> None:
    """Draw the figure into the PNG file ``path``."""
    data = png_bytes(study)
    with open(path, "wb") as f:
        f.write(data)
