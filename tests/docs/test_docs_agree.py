"""Pages that describe the same behaviour say the same thing (issue #28 item 7): what suites do
with intermediate reports is said on suites.md and on early-stopping.md, and the behaviour
itself is tested in tests/suites/."""

from __future__ import annotations

import re

from tests.cli.clihelpers import ROOT

DOCS = ROOT / "docs"


def _bullet(page: str, start: str) -> str:
    """The Markdown bullet of ``page`` that begins with ``start`` (its wrapped lines joined)."""
    text = (DOCS / page).read_text()
    found = re.search(rf"^\* {re.escape(start)}.*?(?=^\* |^\n|^#)", text, re.MULTILINE | re.DOTALL)
    assert found, f"{page} has no bullet starting {start!r}"
    return " ".join(found.group(0).split())


def test_early_stopping_page_says_suites_carry_reports_as_suites_page_does() -> None:
    """suites.md: reports, decisions and checkpoints work in a suite; early-stopping.md must not
    say the opposite, and points there."""
    assert "Reports, decisions and checkpoints work in a suite" in (DOCS / "suites.md").read_text()
    bullet = _bullet("early-stopping.md", "**Suites**")
    assert "no report" not in bullet
    assert "carry reports" in bullet
    assert "suites.md#early-stopping-and-checkpoints-in-a-suite" in bullet
