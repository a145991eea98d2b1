"""Security at the edges: journals are JSON only (loading never unpickles), script targets never
go through a shell and their arguments cannot inject options, temporary files are private and
removed, and the dask runner takes a ``distributed.Security`` (TLS)."""

from __future__ import annotations

import ast
import base64
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import faults_targets as ft
import pytest

from faults.conftest import FaultMaker, configs, one, runs_scripts
from runner.testing import drain
from trials import Journal, StatusType, TrialInfo

REPO = Path(__file__).resolve().parents[2]
LOADERS = ["trials/_journal.py", "trials/_history.py", "trials/_json.py", "trials/_trial.py",
           "runner/_loop/journal.py"]


@pytest.mark.parametrize("module", LOADERS)
def test_journal_code_imports_no_unpickler(module: str) -> None:
    """The modules that read journals import no pickle, cloudpickle, marshal, shelve or yaml."""
    tree = ast.parse((REPO / module).read_text())
    names = {alias.name.split(".")[0] for node in ast.walk(tree)
             if isinstance(node, (ast.Import, ast.ImportFrom))
             for alias in (node.names if isinstance(node, ast.Import) else
                           [ast.alias(node.module or "")])}
    assert not names & {"pickle", "cloudpickle", "dill", "marshal", "shelve", "yaml"}, names


class _Payload:
    """Unpickling this would run a command that creates ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.path}",))


def test_loading_a_journal_never_unpickles(tmp_path) -> None:
    """A journal holding pickles (raw bytes as text, base64, a record claiming to be a pickle)
    is loaded by read_records, History.load and a resuming loop as plain strings: in a process
    where every unpickling entry point raises and an audit hook watches, no pickle is loaded
    and no command runs."""
    pwned = tmp_path / "pwned"
    blob = pickle.dumps(_Payload(str(pwned)), protocol=0)
    journal = tmp_path / "study.jsonl"
    info = TrialInfo({"x": 1.0, "raw": blob.decode("latin-1"),
                      "b64": base64.b64encode(blob).decode()}).to_dict()
    value = {"cost": 1.0, "status": "SUCCESS", "additional_info": {
        "py/object": "os.system", "__reduce__": base64.b64encode(blob).decode()}}
    with Journal.open(journal) as j:
        j.append({"type": "submit", "trial": 0, "attempt": 0, "info": info, "time": 0.0})
        j.append({"type": "result", "trial": 0, "attempt": 0, "final": True, "info": info,
                  "value": value, "time": 0.0})
        j.append({"type": "pickle", "data": base64.b64encode(blob).decode()})
    code = textwrap.dedent(f"""
        import pickle, sys, _pickle
        sys.path.insert(0, {str(REPO)!r})
        from runner import OptimizationLoop, SerialRunner
        from trials import History, read_records
        seen = []
        sys.addaudithook(lambda event, args: seen.append(event) if event in (
            "pickle.find_class", "os.system", "subprocess.Popen", "os.exec", "os.posix_spawn")
            else None)
        def refuse(*args, **kwargs):
            raise AssertionError("something unpickled")
        for mod in (pickle, _pickle):
            mod.loads = mod.load = refuse
            mod.Unpickler = refuse
        class Opt:
            told = []
            def ask(self): return None
            def tell(self, info, value): self.told.append(info.config["raw"])
        records = read_records({str(journal)!r})
        history = History.load({str(journal)!r})
        opt = Opt()
        OptimizationLoop(opt, SerialRunner(lambda c: 0.0), journal={str(journal)!r}).run()
        assert opt.told == [next(iter(history))[0].config["raw"]]
        assert isinstance(records[-1]["data"], str)
        print("events", seen)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "events []"
    assert not pwned.exists()


ARGV_SCRIPT = """
with open(sys.argv[0] + ".argv", "a") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
print("cost=0.5")
"""


@configs("every_backend", runs_scripts)
def test_script_arguments_cannot_inject(every_backend: FaultMaker, tmp_path) -> None:
    """Script targets run without a shell: values holding $(...), backquotes, ';', '--seed=',
    spaces or a newline arrive as the text of their own --name=value argument; a command line
    with '&&' passes those words as arguments; nothing injected runs."""
    pwn = tmp_path / "PWN"
    path = ft.script(tmp_path, "argv.py", ARGV_SCRIPT)
    config = {"a": f"$(touch {pwn})", "b": f"`touch {pwn}`", "c": f"; touch {pwn}",
              "d": "--seed=666", "e": "two words", "f": "x\n--evil=1"}
    with every_backend(f"{path} && touch {pwn}") as runner:
        value = one(runner, config, instance="--seed=9", seed=1)
        assert value.status == StatusType.SUCCESS and value.cost == 0.5, value
        with pytest.raises(ValueError, match="cannot be passed to a script as --x --evil=value"):
            runner.submit_trial(TrialInfo({"x --evil": 1}))
    [argv] = [json.loads(line) for line in Path(path + ".argv").read_text().splitlines()]
    assert argv == ["&&", "touch", str(pwn), "--instance=--seed=9", "--seed=1",
                    f"--a=$(touch {pwn})", f"--b=`touch {pwn}`", f"--c=; touch {pwn}",
                    "--d=--seed=666", "--e=two words", "--f=x\n--evil=1"]
    assert not pwn.exists()


TEMP_SCRIPT = """
out = os.readlink("/proc/self/fd/1")
err = os.readlink("/proc/self/fd/2")
folder = os.path.dirname(out)
st = os.stat(folder)
with open(sys.argv[0] + ".tmp.json", "w") as f:
    json.dump({"out": out, "err": err, "mode": st.st_mode & 0o777, "uid": st.st_uid,
               "files": sorted(os.listdir(folder))}, f)
print("cost=0")
"""


@configs("every_backend", runs_scripts)
def test_script_temp_files_are_private_and_removed(every_backend: FaultMaker, tmp_path) -> None:
    """A script's stdout and stderr go to files in a private folder made with tempfile (mode
    0700, owned by this user, holding only those two files), removed when the trial ends."""
    path = ft.script(tmp_path, "tmp.py", TEMP_SCRIPT)
    with every_backend(path) as runner:
        assert one(runner, {}).status == StatusType.SUCCESS
    seen = json.loads(Path(path + ".tmp.json").read_text())
    folder = os.path.dirname(seen["out"])
    assert os.path.basename(folder).startswith("trialrunner-")
    assert seen["mode"] == 0o700 and seen["uid"] == os.getuid()
    assert os.path.dirname(seen["err"]) == folder and seen["files"] == ["stderr", "stdout"]
    assert not os.path.exists(folder), "the trial's temporary folder was left behind"


def _certificate(folder: Path) -> tuple[str, str]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(key, stat.S_IRUSR | stat.S_IWUSR)
    return cert, key


@pytest.mark.slow
def test_dask_runner_over_tls(tmp_path) -> None:
    """DaskRunner(security=distributed.Security(...)) starts a TLS-only cluster (tls:// address)
    and runs trials on it; a client without the certificates cannot connect (docs/faults.md
    shows the call)."""
    distributed = pytest.importorskip("distributed")
    from runner import DaskRunner, PreflightError

    cert, key = _certificate(tmp_path)
    security = distributed.Security(
        tls_ca_file=cert, tls_client_cert=cert, tls_client_key=key,
        tls_scheduler_cert=cert, tls_scheduler_key=key, tls_worker_cert=cert,
        tls_worker_key=key, require_encryption=True)
    with DaskRunner(ft.noop, n_workers=1, security=security) as runner:
        address = runner.meta["scheduler"]
        assert address.startswith("tls://127.0.0.1:")
        runner.submit_trial(TrialInfo({}))
        [(_, value)] = drain(runner, 1, timeout=60)
        assert value.status == StatusType.SUCCESS
        with pytest.raises(PreflightError, match="cannot connect to the dask scheduler"):
            DaskRunner(ft.noop, client=address, connect_timeout=2)
    doc = (REPO / "docs" / "faults.md").read_text()
    assert "security = Security(tls_ca_file=" in doc and "security=security)" in doc
