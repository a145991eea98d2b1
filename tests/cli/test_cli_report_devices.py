"""``trialrunner report`` shows which device ran which trial (issue 30): a device table in the
text and HTML report and a device timeline in the figure, from each attempt's
``additional_info["resources"]``; a study without shares shows neither. One test runs a real
study on a pool sharing out device ids and reports its journal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.cli._devices import device_lines, device_uses
from runner.cli._journal_view import load_study
from tests.cli.clihelpers import cli
from tests.cli.reportjournals import flat, trial, write
from trials import StatusType


def _with_share(records: list[dict[str, Any]], share: dict[str, Any]) -> list[dict[str, Any]]:
    """``trial(...)``'s records with ``share`` as the result's additional_info["resources"]."""
    records[1]["value"]["additional_info"]["resources"] = share
    return records


def _journal(tmp_path: Path) -> Path:
    """Six trials on two GPUs, one at a time each: 0, 2, 4 on GPU 1 and 1, 3, 5 on GPU 0; trial
    5 crashed."""
    return write(tmp_path / "j.jsonl", flat(*(
        _with_share(trial(i, float(i), start=float(i // 2), end=i // 2 + 0.9,
                          status=StatusType.CRASHED if i == 5 else StatusType.SUCCESS),
                    {"cpu": [], "gpu": [str(1 - i % 2)]}) for i in range(6))))


def test_the_text_report_has_a_device_table(tmp_path: Path) -> None:
    """Each device's row counts its attempts, their busy time and names the trials it ran."""
    journal = _journal(tmp_path)
    out = cli("report", str(journal), cwd=tmp_path).stdout
    lines = device_lines(load_study(str(journal)))
    assert lines[0].startswith("devices: 2 GPUs ran 6 attempts")
    assert "devices: 2 GPUs ran 6 attempts" in out
    rows = {line.split()[0]: line.split() for line in out.splitlines()
            if line.startswith("         ") and line.split()[0] in ("0", "1")}
    assert rows["1"][1] == "3" and rows["1"][-3:] == ["0,", "2,", "4"], rows
    assert rows["0"][1] == "3" and rows["0"][-3:] == ["1,", "3,", "5"], rows
    assert float(rows["0"][2]) == pytest.approx(2.7)  # three trials of 0.9 s


def test_the_figure_has_a_device_timeline_labelled_by_trial(tmp_path: Path) -> None:
    """A row per device (``GPU 0``, ``GPU 1``) and each bar labelled with its trial's id, and
    the HTML page's summary carries the table."""
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    from runner.cli._plots import figure

    journal = _journal(tmp_path)
    fig = figure(load_study(str(journal)))
    fig.canvas.draw()
    plt.close(fig)
    ax = next(a for a in fig.axes if a.get_title().startswith("device timeline"))
    assert [t.get_text() for t in ax.get_yticklabels()] == ["GPU 0", "GPU 1"]
    labels = {(t.get_text(), round(t.get_position()[1])) for t in ax.texts}
    assert labels == {("0", 1), ("2", 1), ("4", 1), ("1", 0), ("3", 0), ("5", 0)}
    cli("report", str(journal), "--html", "r.html", cwd=tmp_path)
    assert "devices: 2 GPUs ran 6 attempts" in (tmp_path / "r.html").read_text()


def test_cores_when_no_device_and_nothing_without_shares(tmp_path: Path) -> None:
    """A study that only bound cores lists cores; one without shares has no device section
    and no device timeline."""
    cores = write(tmp_path / "c.jsonl", flat(*(
        _with_share(trial(i, 1.0, start=float(i)), {"cpu": [i % 2], "gpu": []})
        for i in range(4))))
    assert device_lines(load_study(str(cores)))[0].startswith("devices: 2 cores ran 4")
    plain = write(tmp_path / "p.jsonl", flat(*(trial(i, 1.0, start=float(i)) for i in range(3))))
    assert device_uses(load_study(str(plain))) == []
    assert "devices:" not in cli("report", str(plain), cwd=tmp_path).stdout


@pytest.mark.slow
def test_a_real_study_on_shared_devices_reports_them(tmp_path: Path) -> None:
    """`trialrunner run` with 2 workers, --gpus 0,1,2 --trial-gpus 1: the report's device table
    covers the two devices used and every trial, as the journal's shares say, and lists the
    third, which no trial needed (the lowest free ids go first), as unused."""
    (tmp_path / "space.toml").write_text("[x]\nlow = -5.0\nhigh = 5.0\n")
    (tmp_path / "devtarget.py").write_text(
        "import time\n\ndef objective(config):\n    time.sleep(0.05)\n    return config['x']**2\n")
    cli("run", "devtarget:objective", "--space", "space.toml", "--n-trials", "8",
        "--workers", "2", "--gpus", "0,1,2", "--trial-gpus", "1", "--journal", "j.jsonl",
        cwd=tmp_path)
    out = cli("report", "j.jsonl", cwd=tmp_path).stdout
    assert "devices: 2 GPUs ran 8 attempts" in out, out
    assert [line.split()[:2] for line in out.splitlines() if "(none: unused)" in line] == [
        ["2", "0"]], out
    shares = [json.loads(line)["value"]["additional_info"]["resources"]["gpu"]
              for line in (tmp_path / "j.jsonl").read_text().splitlines()
              if '"type": "result"' in line or '"type":"result"' in line]
    assert len(shares) == 8 and {d for s in shares for d in s} == {"0", "1"}


def test_device_ids_from_the_journal_cannot_drive_the_terminal(tmp_path: Path) -> None:
    """A device id holding an escape sequence and a newline is printed without them."""
    journal = write(tmp_path / "j.jsonl", flat(
        _with_share(trial(0, 1.0), {"cpu": [], "gpu": ["\x1b[2Jgpu\nA"]})))
    lines = device_lines(load_study(str(journal)))
    assert lines[2].split()[0] == "gpuA" and not any("\x1b" in line for line in lines)
