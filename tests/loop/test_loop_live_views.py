"""The live views' parts without a kernel: the snapshot a view shows, the widget's updates and
cancel button, the live plot's redraws, and live_info()'s terminal fallback."""

from __future__ import annotations

import asyncio
import threading

import pytest
from loophelpers import CountingOptimizer, wait_until

from runner import OptimizationLoop, SerialRunner, ThreadPoolRunner
from runner._loop.live import LoopTally, render_html, render_text
from runner._loop.notebook import LiveInfoWidget, LivePlot

pytest.importorskip("ipywidgets")
pytest.importorskip("matplotlib")

GATE = threading.Event()


def half_fail(config):
    if config["i"] % 2:
        raise ValueError(f"odd i={config['i']}")
    return float(config["i"]) + 1.0


def gated(config):
    GATE.wait(10)
    return float(config["i"])


def test_snapshot_counts_outcomes_and_keeps_the_last_error():
    """The snapshot counts final outcomes per status, the incumbent and the last error line."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(half_fail), n_trials_goal=6,
                            raise_if_retries_exceeded=False, study="demo")
    tally = LoopTally(loop)
    assert tally.snapshot().finished == 0
    loop.run()
    info = tally.snapshot()
    assert info.per_status == {"SUCCESS": 3, "CRASHED": 3} and info.finished == 6
    assert info.best == 1.0 and info.incumbent == {"i": 0}
    assert info.last_error is not None and "odd i=5" in info.last_error
    assert info.status == "finished" and info.title == "study 'demo'"
    text = render_text(info)
    assert "3 crashed, 3 success" in text and "6/6 trials" in text
    assert "odd i=5" in render_html(info) and "finished" in render_html(info)


def test_widget_updates_in_a_thread_and_its_button_cancels_the_loop():
    """Without an event loop the widget updates from a thread; its button cancels the loop;
    then it shows the final state and the button is disabled."""
    GATE.clear()
    with ThreadPoolRunner(gated, n_workers=2) as runner:
        loop = OptimizationLoop(CountingOptimizer(), runner).start()
        view = LiveInfoWidget(loop, update_interval=0.01)
        wait_until(lambda: "2 running" in view.html.value, what="the widget to show 2 running")
        view.cancel_button.click()
        loop.ended(30)
        GATE.set()
    wait_until(lambda: view.cancel_button.disabled, what="the final drawing")
    assert loop.status() == "cancelled" and "cancelled" in view.html.value
    assert view.cancel_button.description == "cancelled"


def test_live_plots_redraw_on_the_event_loop_and_keep_the_final_figure():
    """Two live plots (the default one and one's own plotter) redraw while the loop runs on
    the event loop and hold the final figure (a PNG in the Output's state) once it ends."""
    calls = []

    def plotter(history):
        from matplotlib.figure import Figure

        calls.append(len(history))
        fig = Figure()
        fig.subplots().plot([v.cost for _, v in history])
        return fig

    async def main():
        loop = OptimizationLoop(CountingOptimizer(), SerialRunner(half_fail), n_trials_goal=8,
                                raise_if_retries_exceeded=False)
        loop.start()
        views = [LivePlot(loop, 0.01), LivePlot(loop, 0.01, plotter)]
        await loop.task
        return views

    views = asyncio.run(main())
    for view in views:
        (output,) = view.widget.outputs
        assert output["data"]["text/plain"] == "<figure: 8 trials>"
        assert output["data"]["image/png"].startswith("iVBOR")  # base64 of a PNG
    assert calls[-1] == 8


def test_live_info_outside_a_notebook_falls_back_to_the_terminal_display(capsys):
    """live_info() with no kernel returns the rich display of live_info_terminal()."""
    loop = OptimizationLoop(CountingOptimizer(), SerialRunner(half_fail), n_trials_goal=2,
                            raise_if_retries_exceeded=False).start()
    display = loop.live_info(update_interval=0.25)
    loop.block_until_done(30)
    wait_until(lambda: not display.running, what="the display to stop")
    assert "optimization loop" in capsys.readouterr().out
    with pytest.raises(ValueError, match="update_interval must be a number of seconds > 0"):
        loop.live_info(update_interval=0)
