"""Text on matplotlib figures, shared by ``trialrunner report`` and the suites' plots: names
from journals and suite files shown as written, and tick labels as plain numbers."""

from __future__ import annotations

from typing import Any

__all__ = ["plain", "plain_log_ticks"]


def plain(text: object) -> str:
    """``text`` for matplotlib without mathtext: a ``$`` in a name is a dollar sign, never the
    start of a formula (an unmatched one made matplotlib raise)."""
    return str(text).replace("$", r"\$")


def plain_log_ticks(ax: Any, linthresh: float = 0.0) -> None:
    """Label a logarithmic (or symmetric-log) y axis ``0.01``, ``3``, ``100`` rather than
    ``3×10^0``: the decades, and the minor ticks too when a log axis spans less than two
    decades (else it has too few labels). On a symmetric-log axis with ``linthresh``, the ticks
    at ``±linthresh`` are left unlabelled: they sit too close to ``0`` to be read."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    def text(v: float, _: object) -> str:
        return "" if 0 < abs(v) <= linthresh * 1.0001 else f"{v:g}"

    label = FuncFormatter(text)
    ax.yaxis.set_major_formatter(label)
    low, high = ax.get_ylim()
    few = ax.get_yscale() == "log" and low > 0 and high / low < 100
    ax.yaxis.set_minor_formatter(label if few else NullFormatter())
