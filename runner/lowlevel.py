"""The building blocks the packages around the core (``runner.cli``, ``runner.suites``,
``runner.optimizers``, ``runner.testing``, ``runner.problems``, ``runner.integrations``) use, for
code that builds its own front end the same way: the public packages import the private
``runner._*`` modules only through here (an architecture test checks it).

Less stable than the names of ``runner``: a name here may change in a minor release, with a
``DeprecationWarning`` for one release. The names that load a heavy module (the notebook
widgets, the SLURM helpers) load it on first use, so importing this module stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner._core.backend import drain as drain_queue
from runner._core.capabilities import check_optimizer
from runner._core.caps import JOURNAL_CAP, check_result_size
from runner._core.resources import Allocator, parse_capacity, parse_need
from runner._core.waiting import check_wait_for_decisions
from runner._lazy import lazy_exports as _lazy_exports
from runner._loop.clock import runner_clock
from runner._loop.live import LiveInfo, Tally, fmt_cost, fmt_seconds, render_html, render_text
from runner._plot_text import plain, plain_log_ticks

if TYPE_CHECKING:
    from runner._backends.dask.notice import check_notice_signals
    from runner._backends.dask.slurm import parse_walltime
    from runner._loop.notebook import in_notebook, widgets_module
    from runner._worker.protocol import MAX_RESULT_BYTES

__all__ = [
    "JOURNAL_CAP",
    "Allocator",
    "MAX_RESULT_BYTES",
    "LiveInfo",
    "Tally",
    "check_notice_signals",
    "check_optimizer",
    "check_result_size",
    "check_wait_for_decisions",
    "drain_queue",
    "fmt_cost",
    "fmt_seconds",
    "in_notebook",
    "parse_capacity",
    "parse_need",
    "parse_walltime",
    "plain",
    "plain_log_ticks",
    "render_html",
    "render_text",
    "runner_clock",
    "widgets_module",
]

_LAZY = {
    "check_notice_signals": "runner._backends.dask.notice",
    "parse_walltime": "runner._backends.dask.slurm",
    "in_notebook": "runner._loop.notebook",
    "widgets_module": "runner._loop.notebook",
    "MAX_RESULT_BYTES": "runner._worker.protocol",
}


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY, __all__)
