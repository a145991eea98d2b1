"""The HTML report renders its plots in a real browser, offline: headless Chromium takes a
screenshot of the page and the plot's colours are in it. Needs Debian's `chromium`
(.ci/setup-chromium installs it); without it the test is skipped, saying so."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from runner import OptimizationLoop, SerialRunner
from runner.cli import main
from runner.optimizers import RandomSearch

CHROMIUM = "/usr/bin/chromium"

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    not os.access(CHROMIUM, os.X_OK),
    reason=f"{CHROMIUM} is missing: run .ci/setup-chromium (apt-get install -y chromium) to take "
           "the HTML report's screenshot")]


def _target(config: dict) -> float:
    time.sleep(0.005)
    return (config["x"] - 1) ** 2


def test_html_report_renders_its_plots_in_headless_chromium(tmp_path: Path) -> None:
    """The screenshot holds the SUCCESS green of the embedded plot (the text has none)."""
    from matplotlib import image

    journal, page, shot = tmp_path / "s.jsonl", tmp_path / "s.html", tmp_path / "shot.png"
    with SerialRunner(_target) as runner:
        OptimizationLoop(RandomSearch({"x": (-3.0, 3.0)}, seed=0), runner, n_trials_goal=15,
                         journal=journal).run()
    assert main(["report", str(journal), "--html", str(page)]) == 0
    done = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--hide-scrollbars", "--window-size=1200,1600", f"--screenshot={shot}",
         f"--user-data-dir={tmp_path / 'profile'}", page.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), f"no screenshot: {done.stderr[-2000:]}"
    pixels = image.imread(str(shot))[:, :, :3]
    green = ((abs(pixels[:, :, 0] - 0x2C / 255) < 0.08) & (abs(pixels[:, :, 1] - 0xA0 / 255) < 0.08)
             & (abs(pixels[:, :, 2] - 0x2C / 255) < 0.08))
    assert green.sum() > 500, "the plot did not render: no SUCCESS-green pixels in the screenshot"
