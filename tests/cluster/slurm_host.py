"""A one-node SLURM on this host for the tests: Debian's packages, a slurm.conf in a temporary
folder, munged + slurmctld + slurmd on loopback ports, each stopped by its pid.

    ensure_packages() -- apt-get install when missing (root), else the reason it cannot
    SlurmHost(folder).start() -> munged (own socket and key), slurmctld, slurmd
                          .wait_idle() -- until `sinfo` shows the node idle (deadline)
                          .stop()      -- scancel what is left, then SIGTERM/SIGKILL our pids

Nothing here touches the system's own munge or SLURM set-up: our munged has its own socket
and key, our daemons their own state, spool, logs and ports, and clients find them through
``SLURM_CONF``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
DAEMONS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scancel")
NODE_CPUS = 2
PATHS = "/usr/sbin:/usr/bin:/sbin:/bin"


def _missing() -> list[str]:
    search = os.environ.get("PATH", "") + os.pathsep + PATHS
    return [name for name in DAEMONS if shutil.which(name, path=search) is None]


def ensure_packages() -> str | None:
    """Install SLURM and munge when missing; ``None`` when ready, else why they cannot be."""
    if not _missing():
        return None
    if os.geteuid() != 0:
        return f"SLURM is not installed ({', '.join(_missing())} missing) and we are not root"
    if shutil.which("apt-get") is None:
        return f"SLURM is not installed ({', '.join(_missing())} missing) and there is no apt-get"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *PACKAGES]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            return f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-500:]}"
    missing = _missing()
    return f"still missing after apt-get install: {', '.join(missing)}" if missing else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             interval: float = 0.1) -> None:
    """Poll ``condition`` until true, or raise naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s")
        time.sleep(interval)


CONF = """\
ClusterName=trialrunner
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={folder}/munge.socket
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
MinJobAge=30
SlurmctldTimeout=30
SlurmdTimeout=30
KillWait=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes={host} Default=YES MaxTime=INFINITE State=UP
"""


class SlurmHost:
    """munged, slurmctld and slurmd of our own in ``folder``; ``env`` reaches them."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.host = socket.gethostname()
        self.conf = folder / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf),
                    "PATH": os.environ.get("PATH", "") + os.pathsep + PATHS}
        self.pids: dict[str, int] = {}

    # -- starting --------------------------------------------------------------------------

    def start(self) -> None:
        for sub in ("state", "spool"):
            (self.folder / sub).mkdir(parents=True, exist_ok=True)
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20 // 2
        self.conf.write_text(CONF.format(
            host=self.host, folder=self.folder, ctld_port=free_port(),
            slurmd_port=free_port(), cpus=NODE_CPUS, memory=memory))
        self._start_munged()
        self._daemon("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._daemon("slurmd", ["slurmd", "-D", "-f", str(self.conf)])

    def _start_munged(self) -> None:
        key = self.folder / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        self._daemon("munged", [
            "munged", "--foreground", "--force", f"--key-file={key}",
            f"--socket={self.folder}/munge.socket", f"--pid-file={self.folder}/munged.pid",
            f"--log-file={self.folder}/munged.log", f"--seed-file={self.folder}/munged.seed"])
        wait_for(lambda: (self.folder / "munge.socket").exists(), 15, "munged's socket")

    def _daemon(self, name: str, cmd: list[str]) -> None:
        log = open(self.folder / f"{name}.out", "wb")  # noqa: SIM115 - the daemon holds it
        proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.pids[name] = proc.pid
        self._procs = {**getattr(self, "_procs", {}), name: proc}

    def run(self, *cmd: str, check: bool = True) -> str:
        done = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True,
                              timeout=30)
        if check and done.returncode != 0:
            raise RuntimeError(f"`{' '.join(cmd)}` exited {done.returncode}: {done.stderr}")
        return done.stdout

    def _node_state(self) -> str:
        dead = [n for n, p in self._procs.items() if p.poll() is not None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited: {self.logs()}")
        done = subprocess.run(["sinfo", "-h", "-N", "-o", "%t"], env=self.env,
                              capture_output=True, text=True, timeout=30)
        return done.stdout.strip() if done.returncode == 0 else ""

    def wait_idle(self, timeout: float = 60.0) -> None:
        try:
            wait_for(lambda: self._node_state() == "idle", timeout, "the SLURM node idle")
        except TimeoutError as exc:
            raise TimeoutError(f"{exc}; sinfo says {self._node_state()!r}; {self.logs()}") \
                from exc

    def logs(self) -> str:
        parts = []
        for name in ("munged.log", "slurmctld.log", "slurmd.log", "slurmctld.out",
                     "slurmd.out"):
            path = self.folder / name
            if path.exists():
                parts.append(f"--- {name}:\n" + path.read_text(errors="replace")[-1500:])
        return "\n".join(parts)

    # -- jobs -------------------------------------------------------------------------------

    def jobs(self) -> list[str]:
        """Ids of this cluster's jobs still pending, running or completing."""
        return self.run("squeue", "-h", "-o", "%i").split()

    def cancel_all(self) -> None:
        if self.jobs():
            self.run("scancel", "--full", "-u", "root", check=False)
            wait_for(lambda: not self.jobs(), 30, "the SLURM jobs to end after scancel")

    # -- stopping ---------------------------------------------------------------------------

    def stop(self) -> None:
        """End every daemon we started, by pid: SIGTERM, then SIGKILL after 10 s."""
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.get(name)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
