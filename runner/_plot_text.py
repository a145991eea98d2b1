"""Text on matplotlib figures, shared by ``trialrunner report`` and the suites' plots: names
from journals and suite files shown as written, and tick labels as plain numbers."""

from __future__ import annotations

from typing import Any

__all__ = ["plain", "plain_log_ticks"]


def plain(text: object) -> str:
    """``text`` for matplotlib without mathtext: a ``$`` in a name is a dollar sign, never the
    start of a formula (an unmatched one made matplotlib raise)."""
    return str(text).replace("$", r"\$")


def plain_log_ticks(ax: Any) -> None:
    """Label a logarithmic y axis ``0.01``, ``3``, ``100`` rather than ``3×10^0``: the decades,
    and the minor ticks too when the axis spans less than two decades (else it has too few
    labels)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    label = FuncFormatter(lambda v, _: f"{v:g}")
    ax.yaxis.set_major_formatter(label)
    low, high = ax.get_ylim()
    few = ax.get_yscale() == "log" and low > 0 and high / low < 100
    ax.yaxis.set_minor_formatter(label if few else NullFormatter())
