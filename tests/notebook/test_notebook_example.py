"""The example notebook in a real kernel (nbclient + ipykernel): the loop runs on the kernel's
event loop while other cells run, its widgets end in the final state, and the cancel button,
clicked as a browser clicks it (a comm message to the button's model), cancels the loop."""

from __future__ import annotations

import pathlib
import time

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("ipywidgets")

EXAMPLE = pathlib.Path(__file__).parents[2] / "docs" / "examples" / "live_study.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"

pytestmark = pytest.mark.slow


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _models(nb) -> dict:
    return nb.metadata["widgets"][WIDGET_STATE]["state"]


def execute_example(tmp_path: pathlib.Path):
    """The example notebook executed in ``tmp_path``, its widget state stored."""
    nb = nbformat.read(EXAMPLE, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}},
                                     store_widget_state=True)
    client.execute()
    return nb


def test_the_example_notebook_runs_the_loop_beside_other_cells(tmp_path):
    """start() returns, a later cell runs while the loop runs, `await loop.task` ends it; the
    saved notebook holds the widgets, the table says finished and the plot shows 60 trials."""
    nb = execute_example(tmp_path)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "meanwhile: the loop is running with" in _text(code[3])
    assert _text(code[4]).startswith("finished: 60 trials, best cost")
    for cell in code[1:3]:  # live_info(), live_plot(): one widget view each
        views = [o for o in cell.outputs if WIDGET_VIEW in o.get("data", {})]
        assert len(views) == 1, cell.outputs
    models = _models(nb)
    tables = [m["state"]["value"] for m in models.values()
              if m["model_name"] == "HTMLModel" and "trialrunner-live" in m["state"]["value"]]
    assert len(tables) == 1 and "finished" in tables[0] and "60 finished" in tables[0]
    plots = [m["state"]["outputs"] for m in models.values() if m["model_name"] == "OutputModel"]
    assert len(plots) == 1 and plots[0][0]["data"]["text/plain"] == "<figure: 60 trials>"


def _run(kc, code: str, timeout: float = 60) -> tuple[str, list[dict]]:
    """Execute ``code``; its stdout and every iopub message it caused."""
    messages: list[dict] = []
    reply = kc.execute_interactive(code, timeout=timeout, output_hook=messages.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    out = "".join(m["content"]["text"] for m in messages
                  if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
    return out, messages


def test_the_cancel_button_cancels_the_loop_and_leaves_its_journal_resumable(tmp_path):
    """A click on the widget's button model (the comm message a browser sends) cancels the
    loop; the trials in flight are marked in the journal and a new loop on it resumes them."""
    from jupyter_client.manager import start_new_kernel

    setup = nbformat.read(EXAMPLE, as_version=4).cells[1].source
    setup = setup.replace("n_trials_goal=60", "n_trials_goal=400")
    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path))
    try:
        _run(kc, setup)
        _, messages = _run(kc, "view = loop.live_info(update_interval=0.1)")
        (button,) = [m["content"]["comm_id"] for m in messages if m["msg_type"] == "comm_open"
                     and m["content"]["data"]["state"].get("_model_name") == "ButtonModel"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            out, _ = _run(kc, "print(len(loop.history))")
            if int(out) >= 3:
                break
        kc.shell_channel.send(kc.session.msg("comm_msg", {
            "comm_id": button, "data": {"method": "custom", "content": {"event": "click"}}}))
        out, _ = _run(kc, "import asyncio\nawait asyncio.wait_for(loop.task, 30)\n"
                          "print(loop.status(), len(loop.history), view.html.value)")
        assert out.startswith("cancelled ") and "cancelled" in out
        done = int(out.split()[1])
        assert done < 400
        out, _ = _run(kc, "from trials import read_records\n"
                          "print(sum(r['type'] == 'cancelled' for r in "
                          "read_records('live.jsonl')))")
        assert int(out) >= 1  # the trials in flight when it was cancelled
        out, _ = _run(kc, "runner.close()\nrunner = ProcessPoolRunner(target, n_workers=2)\n"
                          "again = OptimizationLoop(RandomSearch(space, seed=0), runner,\n"
                          f"    n_trials_goal={done + 5}, raise_if_retries_exceeded=False,\n"
                          "    journal='live.jsonl', study='live-demo')\n"
                          "await again.run_async()\n"
                          "print(again.status(), len(again.history))", timeout=120)
        assert out.split() == ["finished", str(done + 5)]
        _run(kc, "runner.close()")
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
