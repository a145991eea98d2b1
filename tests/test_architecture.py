"""The package structure (docs/architecture.md): imports run one way along a trial's path
(trials <- core <- worker <- backends; the loop never imports a backend or the worker), no
module-level import cycle, no module reads another's private names, failure statuses are
decided in one module, and modules stay small."""

from __future__ import annotations

import ast
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[1]
FAILURE_STATUSES = {"CRASHED", "TIMEOUT", "MEMORYOUT", "CANCELLED"}


def _modules() -> dict[str, pathlib.Path]:
    out = {}
    for package in ("runner", "trials"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = _modules()


def _imports(path: pathlib.Path, module_level_only: bool) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    nodes = tree.body if module_level_only else list(ast.walk(tree))
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if module_level_only and isinstance(node, ast.If):  # TYPE_CHECKING blocks count too
            stack.extend(node.body + node.orelse)
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name in MODULES}


def _layer(module: str) -> str:
    for prefix in ("runner._core", "runner._worker", "runner._backends", "runner._loop"):
        if module == prefix or module.startswith(prefix + "."):
            return prefix
    return module.split(".")[0] if module.startswith("trials") else "runner"


FORBIDDEN = {
    "trials": {"runner", "runner._core", "runner._worker", "runner._backends", "runner._loop"},
    "runner._core": {"runner._worker", "runner._backends", "runner._loop"},
    "runner._worker": {"runner._backends", "runner._loop"},
    "runner._backends": {"runner._loop"},
    "runner._loop": {"runner._backends", "runner._worker"},
}


def test_imports_run_one_way() -> None:
    """No module imports a layer above its own (anywhere in the module, lazily or not)."""
    wrong = []
    for module, path in MODULES.items():
        for target in _imports(path, module_level_only=False):
            if _layer(target) in FORBIDDEN.get(_layer(module), set()):
                wrong.append(f"{module} -> {target}")
    assert not wrong, wrong


def _cycles(module_level_only: bool, within: str = "") -> list[list[str]]:
    """The import cycles among the modules whose names start with ``within``."""
    graph = {m: {t for t in _imports(p, module_level_only=module_level_only) if t != m
                 and not m.startswith(t + ".") and t.startswith(within)}
             for m, p in MODULES.items() if m.startswith(within)}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            if state.get(nxt) == 1:
                cycles.append(trail[trail.index(nxt):] + [nxt] if nxt in trail else [node, nxt])
            elif nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for module in graph:
        if module not in state:
            visit(module, [module])
    return cycles


def test_no_module_level_import_cycle() -> None:
    """The module-level imports (TYPE_CHECKING ones included) form no cycle."""
    cycles = _cycles(module_level_only=True)
    assert not cycles, cycles


def test_no_import_cycle_in_the_problems_package() -> None:
    """Within ``runner.problems`` not even a lazy (function-level) import closes a cycle (issue
    29 item 11: ``_multifidelity`` -> ``_synthetic`` -> ``_registry`` -> ``_multifidelity``)."""
    cycles = _cycles(module_level_only=False, within="runner.problems")
    assert not cycles, cycles


def test_no_module_reads_another_modules_private_names() -> None:
    """``from m import _name`` appears nowhere between two layers (within a package, its
    modules share their helpers)."""
    wrong = []
    for module, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.ImportFrom) and node.module in MODULES
                    and _layer(node.module) != _layer(module)
                    and f"{node.module}.{node.names[0].name}" not in MODULES):
                wrong += [f"{module}: from {node.module} import {a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
    assert not wrong, wrong


PUBLIC_PACKAGES = ("runner.suites", "runner.optimizers", "runner.testing", "runner.problems",
                   "runner.cli", "runner.integrations")


def _absolute(module: str, path: pathlib.Path, node: ast.ImportFrom) -> str:
    """The absolute name a (possibly relative) ``from ... import`` reads from."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def test_public_packages_import_no_private_module() -> None:
    """A public package (and its own ``_`` modules) imports no ``runner._*`` module, not even
    lazily inside a function: what it needs comes from ``runner``, ``runner.errors`` or
    ``runner.lowlevel`` (issue 29 item 4), so the public boundary is true."""
    wrong = []
    for module, path in MODULES.items():
        if not module.startswith(PUBLIC_PACKAGES):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                source = _absolute(module, path, node)
                names = [source] + [f"{source}.{alias.name}" for alias in node.names]
            else:
                continue
            wrong += [f"{module}:{node.lineno} imports {name}" for name in names
                      if name.startswith("runner._")]
    assert not wrong, wrong


def test_failure_statuses_are_decided_in_one_module() -> None:
    """Outside the loop (which reads statuses) and the conformance suite (which checks them),
    only runner/_core/verdicts.py names a failure status."""
    where = set()
    for module, path in MODULES.items():
        if module.startswith(("runner._loop", "runner.testing", "runner.integrations",
                              "runner.suites", "runner.cli", "trials")):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if (isinstance(node, ast.Attribute) and node.attr in FAILURE_STATUSES
                    and isinstance(node.value, ast.Name) and node.value.id == "StatusType"
                    and not isinstance(getattr(node, "parent", None), ast.Compare)):
                where.add(module)
    assert where <= {"runner._core.verdicts", "runner._worker.process"}, where


def test_modules_stay_small() -> None:
    """No module of runner/ or trials/ over 400 lines (STYLE's hard stop is 500)."""
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > 400}
    assert not long, long


def test_only_the_base_writes_the_books() -> None:
    """Backends change the queue, the executing count and the finished pairs only through
    ``BackendRunner``'s steps (runner/_core/backend.py), never by writing them."""
    books = {"_pending", "_executing", "_finished"}
    wrong = []
    for module, path in MODULES.items():
        if _layer(module) not in {"runner._backends", "runner._worker"}:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.Assign, ast.AugAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                wrong += [f"{module}:{node.lineno}" for t in targets
                          if isinstance(t, ast.Attribute) and t.attr in books]
            elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                  and isinstance(node.func.value, ast.Attribute)
                  and node.func.value.attr in books
                  and node.func.attr in {"append", "appendleft", "popleft", "pop", "clear"}):
                wrong.append(f"{module}:{node.lineno}")
    assert not wrong, wrong


def test_the_architecture_page_names_every_private_module() -> None:
    """docs/architecture.md names every module of the private layers (issue 29 item 8: it had
    fallen 7 modules behind the code); a new module is added to its table."""
    page = (ROOT / "docs" / "architecture.md").read_text()
    missing = [str(path.relative_to(ROOT)) for module, path in MODULES.items()
               if _layer(module) in FORBIDDEN["runner._core"] | {"runner._core"}
               and path.name != "__init__.py"
               and f"`{path.name}`" not in page and str(path.relative_to(ROOT)) not in page]
    assert not missing, missing
