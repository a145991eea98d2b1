"""Live views of a loop in Jupyter (extra ``[notebook]``): ``loop.live_info()`` (an ipywidgets
table with a cancel button) and ``loop.live_plot()`` (matplotlib figures redrawn in place).

Each view has an updater: an asyncio task when an event loop runs in this thread (a kernel; the
loop itself then runs there too, see ``aio.py``), else a daemon thread. It redraws every
``update_interval`` seconds while the loop runs, and once more when it ends, so the view keeps
the final state. The widgets are changed only through their model's state (an ``HTML`` value,
an ``Output``'s ``outputs``), so a notebook saved with its widget state shows what was last
drawn, with or without a browser attached.
"""

from __future__ import annotations

import asyncio
import base64
import contextvars
import io
import sys
import threading
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from runner._loop.aio import running_event_loop
from runner._loop.live import LoopTally, render_html
from trials import History

if TYPE_CHECKING:
    from runner._loop.loop import OptimizationLoop

__all__ = ["LiveInfoWidget", "LivePlot", "in_notebook", "live_info", "live_plot", "widgets_module"]


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (an IPython shell with a kernel)."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def widgets_module() -> Any:
    try:
        import ipywidgets
    except ImportError:
        raise ImportError("live_info() and live_plot() in a notebook need ipywidgets: "
                          "pip install 'trialrunner[notebook]'") from None
    return ipywidgets


def _check_interval(update_interval: float) -> float:
    if isinstance(update_interval, bool) or not isinstance(update_interval, (int, float)) \
            or not update_interval > 0:
        raise ValueError(f"update_interval must be a number of seconds > 0, got "
                         f"{update_interval!r} (type {type(update_interval).__name__})")
    return float(update_interval)


def _as_latest_request(draw: Callable[[], None]) -> None:
    """Call ``draw`` in an empty context. A task keeps the context of the cell that created it,
    and ipykernel stamps what it sends with the request held there; in an empty context it
    falls back to the latest request, as for a thread, so the updates belong to the cell that
    runs now (a frontend routes widget updates by model either way; nbclient records only the
    messages of the cell it is running)."""
    contextvars.Context().run(draw)


class _Updater:
    """Call ``draw`` every ``interval`` seconds until ``loop`` ends, then once more."""

    def __init__(self, loop: OptimizationLoop, interval: float, draw: Callable[[], None],
                 prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        self._loop, self._interval, self._draw, self._prepare = loop, interval, draw, prepare
        self._stop = threading.Event()
        self._final = threading.Lock()
        self._drawn_final = False
        event_loop = running_event_loop()
        if event_loop is not None:
            if loop.task is not None:  # drawn before `await loop.task` resumes its awaiter
                loop.task.add_done_callback(lambda _: _as_latest_request(self._finish))
            self._task: asyncio.Task[None] | None = event_loop.create_task(self._run_async())
        else:
            self._task = None
            threading.Thread(target=self._run_thread, name="live-view", daemon=True).start()

    async def _run_async(self) -> None:
        while not self._stop.is_set() and not self._loop.ended(0):
            if self._prepare is not None:  # the slow part, off the event loop
                await self._prepare()
            _as_latest_request(self._draw)
            await asyncio.sleep(self._interval)
        _as_latest_request(self._finish)

    def _run_thread(self) -> None:
        while not self._stop.is_set() and not self._loop.ended(self._interval):
            self._draw()
        self._finish()

    def _finish(self) -> None:
        with self._final:
            if self._drawn_final or self._stop.is_set():
                return
            self._drawn_final = True
        self._draw()

    def stop(self) -> None:
        """Stop redrawing (the view keeps what it shows)."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()


class _View:
    """A widget shown once: by the call that made it, or as a cell's value."""

    widget: Any
    _shown = False

    def show(self) -> None:
        from IPython.display import display

        if not self._shown:
            self._shown = True
            display(self.widget)  # type: ignore[no-untyped-call]

    def _ipython_display_(self) -> None:
        self.show()


class LiveInfoWidget(_View):
    """What ``loop.live_info()`` shows in a notebook: the loop's state and a cancel button."""

    def __init__(self, loop: OptimizationLoop, update_interval: float = 0.5) -> None:
        widgets = widgets_module()
        interval = _check_interval(update_interval)
        self._loop = loop
        self._tally = LoopTally(loop)
        self.html = widgets.HTML(value=render_html(self._tally.snapshot()))
        self.cancel_button = widgets.Button(description="cancel", button_style="danger",
                                            tooltip="cancel the loop")
        self.cancel_button.on_click(lambda _: loop.cancel())
        self.widget = widgets.VBox([self.html, self.cancel_button])
        self._updater = _Updater(loop, interval, self.update)

    def update(self) -> None:
        """Redraw now (the updater calls it)."""
        self.html.value = render_html(self._tally.snapshot())
        if self._loop.ended(0):
            self.cancel_button.disabled = True
            self.cancel_button.button_style = ""
            self.cancel_button.description = self._loop.status()

    def stop(self) -> None:
        """Stop updating."""
        self._updater.stop()


def figure_png(figure: Any) -> bytes:
    """``figure`` (matplotlib) as PNG bytes; a pyplot figure is closed afterwards, so the
    notebook does not show it a second time."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is not None:
        pyplot.close(figure)
    return buffer.getvalue()


class LivePlot(_View):
    """What ``loop.live_plot()`` shows: ``plotter(history)``'s figure, redrawn in place when
    trials were added (the default: the incumbent trace and the worker timeline)."""

    def __init__(self, loop: OptimizationLoop, update_interval: float = 2.0,
                 plotter: Callable[[History], Any] | None = None) -> None:
        widgets = widgets_module()
        interval = _check_interval(update_interval)
        if plotter is not None and not callable(plotter):
            raise TypeError(f"plotter must be a callable taking the history and returning a "
                            f"matplotlib figure, got {plotter!r} (type {type(plotter).__name__})")
        from runner._loop.live_figure import figure

        self._loop, self._plotter = loop, plotter or figure
        self._drawn: tuple[int, str] | None = None
        self._ready: tuple[tuple[int, str], bytes] | None = None  # drawn off the event loop
        self.widget = widgets.Output()
        # The default figure (a bare Figure, no pyplot) is drawn in a worker thread, so a large
        # history never holds back the event loop, and the loop with it; one's own plotter may
        # use pyplot, which wants one thread: it draws on the event loop.
        self._off_loop = plotter is None and running_event_loop() is not None
        self._updater = _Updater(loop, interval, self.update,
                                 self._prepare if self._off_loop else None)

    def _state(self) -> tuple[int, str]:
        return len(self._loop.history), self._loop.status()

    async def _prepare(self) -> None:
        state = self._state()
        if state != self._drawn:
            pairs = list(self._loop.history)  # a copy (1 ms per 100,000 trials): the loop
            png = await asyncio.to_thread(  # appends meanwhile; History() of it in the thread
                lambda: figure_png(self._plotter(History(pairs))))
            self._ready = (state, png)

    def update(self) -> None:
        """Redraw if trials were added or the status changed since the last drawing."""
        state = self._state()
        if state == self._drawn:
            return
        ready, self._ready = self._ready, None
        if ready is None and self._off_loop and not self._loop.ended(0):
            return  # the next one drawn off the event loop shows it
        if ready is not None and (ready[0] == state or not self._loop.ended(0)):
            state, png = ready  # drawn off the event loop, maybe a trial or two ago
        else:  # in a thread, one's own plotter, or the final picture
            png = figure_png(self._plotter(self._loop.history))
        self._drawn = state
        self.widget.outputs = ({"output_type": "display_data", "metadata": {},
                                "data": {"image/png": base64.b64encode(png).decode("ascii"),
                                         "text/plain": f"<figure: {state[0]} trials>"}},)

    def stop(self) -> None:
        """Stop redrawing."""
        self._updater.stop()


def live_info(loop: OptimizationLoop, update_interval: float) -> Any:
    """What ``loop.live_info()`` does: in a notebook, show and return a
    `LiveInfoWidget`; elsewhere the rich display, not blocking."""
    interval = _check_interval(update_interval)
    if not in_notebook():
        return loop.live_info_terminal(refresh_per_second=1 / interval, block=False)
    view = LiveInfoWidget(loop, interval)
    view.show()
    return view


def live_plot(loop: OptimizationLoop, update_interval: float,
              plotter: Callable[[History], Any] | None) -> LivePlot:
    """What ``loop.live_plot()`` does: show and return a `LivePlot`."""
    view = LivePlot(loop, update_interval, plotter)
    view.show()
    return view
