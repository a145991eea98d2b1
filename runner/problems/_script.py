"""``branin-script``: Branin evaluated by a separate program speaking SMAC3's script protocol.

Run as ``python -m runner.problems._script --x0=1.0 --x1=2.0`` it prints
``cost=<branin>; runtime=<model>; status=SUCCESS``; the problem's target is a
`runner.Target` running that command, so a suite exercises script targets end to end.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from runner.problems._problem import Problem
from runner.problems._registry import register

__all__ = ["main"]


def _make() -> Problem:
    from runner import ScriptTarget
    from runner.problems._synthetic import timed_runtime

    target = ScriptTarget([sys.executable, "-m", "runner.problems._script"])
    return Problem("branin-script", {"x0": (-5.0, 10.0), "x1": (0.0, 15.0)}, target,
                   optimum=0.397887357729738, runtime=timed_runtime)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse ``--name=value`` arguments, print one SMAC3-protocol result line."""
    from runner.problems._functions import branin
    from runner.problems._synthetic import timed_runtime

    config: dict[str, float] = {}
    for arg in sys.argv[1:] if argv is None else argv:
        key, _, value = arg.lstrip("-").partition("=")
        if key.startswith("x"):
            config[key] = float(value)
    sys.stdout.write(f"cost={branin(config)!r}; runtime={timed_runtime(config)!r}; "
                     "status=SUCCESS\n")
    return 0


register("branin-script", _make)

if __name__ == "__main__":
    raise SystemExit(main())
