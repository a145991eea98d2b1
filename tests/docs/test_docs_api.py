"""The API reference shows what a user needs to construct each public class (issue #28 item 4):
every constructor's parameters in its class's entry, every member of every enum, no Sphinx role
left as raw text (`:meth:` ...), no base class (most are internal: ``PoolKeeper``,
``LocalWorker``). Builds the site once, as `make docs` does (about 3 s)."""

from __future__ import annotations

import enum
import html
import importlib
import inspect
import re
from typing import TYPE_CHECKING

import pytest

import runner
import trials
from tests.cli.clihelpers import ROOT

if TYPE_CHECKING:
    from tests.docs.conftest import Site

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install '.[docs]'")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")

ROLE = re.compile(r":(meth|class|func|attr|data|mod|exc|obj):`")
PAGES = ("api.md", "optimizer-contract.md")
"""The reference pages: the API, and the optimizer contract's Protocols."""
_ID = re.compile(r'id="((?:runner|trials)\.[\w.]+)"')


def _documented() -> dict[str, object]:
    """``qualified name in the reference -> object``: what docs/api.md renders (``::: x.y``),
    and every public name of ``runner`` and ``trials`` under the name the page gives it."""
    out: dict[str, object] = {}
    lines = [line for page in PAGES for line in (ROOT / "docs" / page).read_text().splitlines()]
    for line in lines:
        if line.startswith("::: "):
            path = line[4:].strip()
            module, _, name = path.rpartition(".")
            try:
                out[path] = getattr(importlib.import_module(module), name)
            except (ImportError, AttributeError):
                out[path] = importlib.import_module(path)
    by_object = {id(obj): path for path, obj in out.items()}
    for package in (runner, trials):
        for name in package.__all__:
            obj = getattr(package, name)
            if inspect.isclass(obj) and id(obj) not in by_object:
                out[f"{package.__name__}.{name}"] = obj
    return out


def _parameters(cls: type) -> list[str]:
    """The named parameters of the class's own constructor (none for an exception that keeps
    ``Exception``'s, or an enum)."""
    if issubclass(cls, enum.Enum) or cls.__init__ is object.__init__:
        return []
    try:
        signature = inspect.signature(cls)
    except ValueError:  # a builtin __init__ (an exception's)
        return []
    return [p.name for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _text(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def _sections(page: str) -> dict[str, str]:
    """The HTML of each object's entry, by its anchor: from its heading to the next heading
    that is not one of its members."""
    marks = [(m.start(), m.group(1)) for m in _ID.finditer(page)]
    out = {}
    for i, (start, name) in enumerate(marks):
        end = next((s for s, other in marks[i + 1:] if not other.startswith(name + ".")),
                   len(page))
        out[name] = page[start:end]
    return out


def _signature(entry: str) -> str:
    """The text of the entry's first signature (the class's, with its constructor's
    parameters merged in)."""
    found = re.search(r'class="doc-signature.*?</code>', entry, re.DOTALL)
    return _text(found.group(0)) if found else ""


@pytest.fixture(scope="module")
def api_page(built_site: Site) -> str:
    assert built_site.returncode == 0, built_site.output[-4000:]
    return "\n".join((built_site.folder / page.removesuffix(".md") / "index.html").read_text()
                     for page in PAGES)


def _in_section(sections: dict[str, str], path: str, obj: object) -> tuple[str, str]:
    """The entry of ``obj``: under ``path``, or wherever the page documents it (a module's
    member: ``runner.errors.RunnerError``)."""
    if path in sections:
        return path, sections[path]
    name = getattr(obj, "__name__", path.rpartition(".")[2])
    found = [key for key in sections if key.endswith("." + name)]
    assert found, f"{path} is public but has no entry in the API reference (docs/api.md)"
    return found[0], sections[found[0]]


def test_every_public_constructor_shows_its_parameters(api_page: str) -> None:
    """walltime_limit, n_trials_goal, worker_env, ...: each in its own class's entry."""
    sections = _sections(api_page)
    missing = []
    for path, obj in _documented().items():
        if not inspect.isclass(obj):
            continue
        key, entry = _in_section(sections, path, obj)
        signature = _signature(entry)
        missing += [f"{key}({name})" for name in _parameters(obj)
                    if not re.search(rf"\b{name}\b\s*[:=,)]", signature)]
    assert not missing, f"constructor parameters absent from the API reference: {missing}"


def test_every_enum_member_is_listed(api_page: str) -> None:
    """StatusType's seven members (not only the one with a docstring), Decision's too."""
    sections = _sections(api_page)
    missing = []
    for path, obj in _documented().items():
        if inspect.isclass(obj) and issubclass(obj, enum.Enum):
            key, _ = _in_section(sections, path, obj)
            missing += [f"{key}.{m}" for m in obj.__members__ if f"{key}.{m}" not in sections]
    assert not missing, f"enum members absent from the API reference: {missing}"
    assert "trials.StatusType.RUNNING" in sections and "trials.StatusType.SUCCESS" in sections


def test_no_sphinx_role_and_no_base_class_is_shown(api_page: str) -> None:
    """No `:meth:`-style text on the page, no "Bases:" line naming an internal class."""
    text = _text(api_page)
    roles = sorted({m.group(0) for m in ROLE.finditer(text)})
    assert not roles, f"Sphinx roles rendered as raw text: {roles}"
    assert "Bases:" not in text
    for internal in ("PoolKeeper", "LocalWorker"):
        assert internal not in text


def test_docstrings_use_markdown_not_sphinx_roles() -> None:
    """The reference renders docstrings as Markdown: `name`, not :class:`name` (fast, and it
    also covers private modules that the page does not render today)."""
    found = [f"{path.relative_to(ROOT)}:{n}" for folder in ("runner", "trials")
             for path in sorted((ROOT / folder).rglob("*.py"))
             for n, line in enumerate(path.read_text().splitlines(), 1) if ROLE.search(line)]
    assert not found, f"Sphinx roles in docstrings (write `name` instead): {found}"
