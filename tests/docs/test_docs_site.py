"""The documentation site builds with `mkdocs build --strict` and prints no warning (what
`make docs` runs), and every page of it is in the navigation."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.cli.clihelpers import ROOT

if TYPE_CHECKING:
    from tests.docs.conftest import Site

pytest.importorskip("mkdocs", reason="the docs extra is not installed: pip install '.[docs]'")
pytest.importorskip("mkdocstrings", reason="the docs extra is not installed")


@pytest.mark.slow
def test_site_builds_strict_without_warnings(built_site: Site) -> None:
    """mkdocs --strict exits 0 and logs no WARNING (broken links, anchors, API references)."""
    output = built_site.output
    assert built_site.returncode == 0, output[-4000:]
    assert "WARNING" not in output, output[-4000:]
    api = (built_site.folder / "api" / "index.html").read_text()
    assert "OptimizationLoop" in api and "submit_trial" in api  # mkdocstrings rendered
    assert (built_site.folder / "img" / "dataflow.svg").exists()


def test_every_page_is_in_the_nav() -> None:
    """A Markdown page that the nav leaves out would be unreachable on the site."""
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(ROOT / "docs").as_posix() for p in (ROOT / "docs").rglob("*.md")}
    missing = sorted(p for p in pages if f": {p}" not in nav)
    assert not missing, f"pages not in mkdocs.yml's nav: {missing}"
