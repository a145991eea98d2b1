"""The watchdog: one thread per driver process that enforces limits on supervised workers from
outside, the one wall-time mechanism of every backend that uses worker processes.

    owner (pool pump, blocking run, dask task)        watchdog thread
    ------------------------------------------        -----------------------------------------
    watched.begin(deadline)  -- trial starts -->      at the deadline: SIGTERM the worker's group,
                                                      SIGKILL after grace; every INTERVAL: read the
                                                      trial's process tree from /proc (CPU time,
                                                      memory, descendants) and kill on overrun
    watched.stop_by(t)       -- a stop decision -->   at t: SIGKILL the group (the trial ignored it)
    watched.end() -> verdict <-- trial answered/died  ("walltime", "cpu", "memory", "stopped"
                                                       or None)

The in-process mechanisms (rlimits, the CPU timer) stay: they are exact and cost nothing. This
watch holds when a target disarms them (it may raise its own soft limits, or ignore SIGPROF),
and it remembers the trial's descendants, so those that left the process group are killed on
every path that ends the trial, the worker's own death included.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from typing import Any

__all__ = ["Watched", "descendants", "killpg", "tree_rss", "watchdog"]

INTERVAL = 0.2
"""Seconds between two reads of each busy worker's process tree."""
CPU_SLACK = 0.3
"""Seconds of CPU time beyond the limit before the outside watch acts: the worker's own timer
ends an obedient trial exactly at its limit, first."""
MEMORY_FACTOR = 2
"""The outside watch kills a process of the trial holding this many times its memory_limit
beyond the worker's own size: from outside, the target's memory cannot be told from its result
being serialised (which is not the target's memory, case B3); RLIMIT_AS inside is exact."""
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_PROC = os.path.isdir("/proc/self/task")


class Watched:
    """One supervised worker process as the watchdog sees it."""

    __slots__ = ("pid", "lock", "busy", "deadline", "kill_at", "grace", "cpu_limit",
                 "memory_cap", "tree_budget", "cpu_base", "verdict", "evidence", "seen",
                 "tree_budget_hit", "_mem_base", "stop_at")

    def __init__(self, pid: int, grace: float, cpu_limit: float | None = None,
                 memory_limit_mb: float | None = None, tree_budget: int | None = None) -> None:
        self.pid = pid
        self.lock = threading.Lock()
        self.busy = False
        self.deadline = math.inf  # monotonic
        self.kill_at = math.inf
        self.stop_at = math.inf  # monotonic: when a trial told to stop is killed
        self.grace = grace
        self.cpu_limit = cpu_limit
        self.memory_cap = None if memory_limit_mb is None else int(memory_limit_mb * 2**20)
        self.tree_budget = tree_budget  # bytes of the whole tree (a dask worker's share)
        self.cpu_base: float | None = None
        self.verdict: str | None = None
        self.evidence = ""
        self.tree_budget_hit = False
        self.seen: dict[int, int] = {}  # descendant pid -> its start time (pid reuse guard)
        self._mem_base = 0

    def begin(self, walltime: float | None) -> None:
        """A trial starts now on this worker."""
        if walltime is None:  # no deadline to race with: plain writes, in this order
            self.verdict, self.cpu_base = None, None
            self.busy = True
            return
        deadline = time.monotonic() + walltime
        with self.lock:
            self.busy, self.verdict, self.cpu_base = True, None, None
            self.deadline, self.kill_at, self.stop_at = deadline, math.inf, math.inf
        if deadline < _DOG.wake_at:
            _DOG.poke()

    def stop_by(self, when: float) -> None:
        """The running trial was told to stop: kill it at ``when`` (monotonic) if it is still
        running then (its verdict: ``"stopped"``)."""
        with self.lock:
            if not self.busy or self.verdict is not None or when >= self.stop_at:
                return
            self.stop_at = when
        if when < _DOG.wake_at:
            _DOG.poke()

    def end(self) -> str | None:
        """The trial answered or its worker died; what the watchdog decided, if anything."""
        with self.lock:
            self.busy, self.deadline, self.kill_at = False, math.inf, math.inf
            self.stop_at = math.inf
            return self.verdict

    def kill_escaped(self) -> None:
        """SIGKILL the descendants seen during the trial that still live (pid reuse checked)."""
        for pid, started in list(self.seen.items()):
            if _start_time(pid) == started:
                _kill(pid, signal.SIGKILL)
        self.seen.clear()

    # -- the watchdog thread's side (self.lock held) -------------------------------------

    def _decide(self, verdict: str, evidence: str, sig: int) -> None:
        self.verdict, self.evidence = verdict, evidence
        killpg(self.pid, sig)
        if sig == signal.SIGKILL:
            self.kill_escaped()
        else:
            self.kill_at = time.monotonic() + self.grace

    def _measure(self) -> None:
        tree = _tree(self.pid)
        if not tree:
            return
        worker = tree[0]
        cpu = worker[1] + sum(p[1] for p in tree[1:])  # reaped children are in the worker's
        if self.cpu_base is None:
            self.cpu_base, self._mem_base = cpu, worker[2]
        self.seen.update((p[0], p[3]) for p in tree[1:])
        if self.cpu_limit is not None and cpu - self.cpu_base > self.cpu_limit + CPU_SLACK:
            self._decide("cpu", f"{cpu - self.cpu_base:.1f} s measured from outside",
                         signal.SIGKILL)
        elif self.memory_cap is not None and any(
                p[2] > self._mem_base + MEMORY_FACTOR * self.memory_cap for p in tree):
            worst = max(p[2] for p in tree)
            self._decide("memory", f"a process of the trial held {worst / 2**20:.0f} MB, "
                         f"measured from outside", signal.SIGKILL)
        elif self.tree_budget is not None:
            used = sum(p[2] for p in tree)
            if used > self.tree_budget:
                self.tree_budget_hit = True
                self._decide("memory", f"{used / 2**20:.0f} MB", signal.SIGKILL)


class _Watchdog:
    """The thread, started with the first watched worker and kept while any is watched."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._watched: dict[int, Watched] = {}
        self._thread: threading.Thread | None = None
        self.wake_at = math.inf

    def add(self, watched: Watched) -> None:
        with self._cond:
            self._watched[id(watched)] = watched
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, daemon=True,
                                                name="trialrunner-watchdog")
                self._thread.start()
            self._cond.notify()

    def remove(self, watched: Watched) -> None:
        with self._cond:
            self._watched.pop(id(watched), None)

    def poke(self) -> None:
        with self._cond:
            self._cond.notify()

    def _run(self) -> None:
        next_look = 0.0
        while True:
            with self._cond:
                while not self._watched:
                    self.wake_at = math.inf
                    self._cond.wait()
                watched = list(self._watched.values())
            now = time.monotonic()
            look = now >= next_look
            if look:
                next_look = now + INTERVAL
            wake = next_look
            for w in watched:
                with w.lock:
                    if not w.busy:
                        continue
                    if w.verdict is None and now >= w.stop_at:
                        w._decide("stopped", "", signal.SIGKILL)
                    elif w.verdict is None and now >= w.deadline:
                        w._decide("walltime", "", signal.SIGTERM if w.grace > 0
                                  else signal.SIGKILL)
                    elif w.verdict is not None and now >= w.kill_at:
                        w.kill_at = math.inf
                        killpg(w.pid, signal.SIGKILL)
                        w.kill_escaped()
                    elif look and w.verdict is None:
                        try:
                            w._measure()
                        except Exception:  # the tree changed under us: look again next time
                            pass
                    wake = min(wake, w.kill_at if w.verdict is not None
                               else min(w.deadline, w.stop_at))
            with self._cond:
                self.wake_at = wake
                left = wake - time.monotonic()
                if left > 0:
                    self._cond.wait(left)


_DOG = _Watchdog()


def watchdog() -> _Watchdog:
    """The process's watchdog."""
    return _DOG


# -- reading /proc ---------------------------------------------------------------------------

def _stat(pid: int) -> tuple[float, int, int] | None:
    """``(cpu seconds incl. reaped children, resident bytes, start time)`` of ``pid``."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(b")") + 2:].split()
    cpu = sum(int(x) for x in fields[11:15]) / _TICKS  # utime stime cutime cstime
    return cpu, int(fields[21]) * _PAGE, int(fields[19])


def _tree(pid: int) -> list[tuple[int, float, int, int]]:
    """``(pid, cpu, rss, start)`` of ``pid`` and every descendant, ``pid`` first."""
    if not _PROC:
        return []
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        st = _stat(p)
        if st is None:
            continue
        out.append((p, *st))
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children", "rb") as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, ValueError):
            continue
    return out


def _start_time(pid: int) -> int | None:
    st = _stat(pid)
    return None if st is None else st[2]


def _kill(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def killpg(pgid: int, sig: int) -> None:
    """Signal a process group that may be gone already."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def tree_rss(pid: int) -> int:
    """Resident bytes of ``pid`` and its descendants."""
    return sum(p[2] for p in _tree(pid))


def descendants(pid: int) -> list[Any]:
    """psutil handles of ``pid``'s descendants (empty when it is gone)."""
    try:
        import psutil

        return list(psutil.Process(pid).children(recursive=True))
    except Exception:
        return []
