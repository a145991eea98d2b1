"""Every code block of README.md and docs/*.md runs as written, or is marked a fragment
(issue #14, item 12; the rules are in docs/index.md, "Code blocks are tested")."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner._core.limits import Limits

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

_FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})\s*(?P<lang>[^\s`]*)")
_FRAGMENT = re.compile(r"^\s*<!--\s*fragment(:[^>]*)?-->\s*$")
_NOT_CODE = {"text"}


@dataclass
class Block:
    page: Path
    line: int  # of the opening fence, 1-based
    lang: str
    source: str
    fragment: bool

    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of a Markdown page (CommonMark fences: a closing fence is the same
    character, at least as long)."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found, i = [], 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, start = m.group("fence"), i
        close = re.compile(rf"^ {{0,3}}{re.escape(fence[0])}{{{len(fence)},}}\s*$")
        i += 1
        while i < len(lines) and not close.match(lines[i]):
            i += 1
        previous = next((ln for ln in reversed(lines[:start]) if ln.strip()), "")
        found.append(Block(page, start + 1, m.group("lang").lower(),
                           "\n".join(lines[start + 1:i]) + "\n", bool(_FRAGMENT.match(previous))))
        i += 1
    return found


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(ROOT)) for p in PAGES])
def test_code_blocks_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Python blocks run (in order, one namespace per page, in a temporary folder), JSON blocks
    parse, text blocks are not code; anything else must be marked a fragment."""
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for block in blocks(page):
        if block.fragment or block.lang in _NOT_CODE:
            continue
        if block.lang == "python":
            code = compile(block.source, block.where(), "exec")
            try:
                exec(code, namespace)
            except Exception as exc:
                pytest.fail(f"the python block at {block.where()} raised {exc!r}")
        elif block.lang == "json":
            try:
                json.loads(block.source)
            except ValueError as exc:
                pytest.fail(f"the json block at {block.where()} is not JSON: {exc}")
        else:
            pytest.fail(f"the {block.lang or 'unlabelled'} block at {block.where()} is neither run "
                        "nor marked: label it python, json or text, or put "
                        "'<!-- fragment: why -->' on the line before its fence")


def test_the_collector_sees_fragments_and_nested_fences(tmp_path: Path) -> None:
    """A marked block is a fragment; a four-backtick fence holds a three-backtick one."""
    page = tmp_path / "page.md"
    page.write_text("<!-- fragment: no -->\n```python\nraise SystemExit\n```\n\n"
                    "````text\n```python\nx\n```\n````\n```python\ny = 1\n```\n")
    found = blocks(page)
    assert [(b.line, b.lang, b.fragment) for b in found] == [
        (2, "python", True), (6, "text", False), (11, "python", False)]
    assert found[1].source == "```python\nx\n```\n"


def test_the_docs_give_one_default_grace() -> None:
    """Wherever a page calls a grace the default, it is the code's default."""
    default = Limits().grace
    pattern = re.compile(r"default grace (?:is )?(\d+(?:\.\d+)?) s|grace[^|\n.]{0,40}?"
                         r"default(?: is)? (\d+(?:\.\d+)?) s|\(grace (\d+(?:\.\d+)?) s, the default")
    seen = []
    for page in PAGES:
        for m in pattern.finditer(page.read_text(encoding="utf-8")):
            value = float(next(g for g in m.groups() if g))
            seen.append(value)
            assert value == default, f"{page.name}: {m.group(0)!r} but the default is {default}"
    assert seen, "no page states the default grace"
