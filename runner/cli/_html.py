"""The report as one self-contained HTML file: the summary text and the figure embedded as a
base64 PNG, no script and no external resource, so it opens offline and in any browser."""

from __future__ import annotations

import base64
import html

from runner.cli._devices import device_text, device_uses
from runner.cli._journal_view import Study
from runner.cli._plots import png_bytes
from runner.cli._summary import summary

__all__ = ["write_html"]

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
pre {{ background: #f6f8fa; padding: 1em; overflow-x: auto; }}
img {{ max-width: 100%; border: 1px solid #ddd; }}
</style></head>
<body>
<h1>{title}</h1>
<h2>Summary</h2>
<pre>{summary}</pre>
<h2>Plots</h2>
<img id="plots" alt="incumbent over time and over trials; worker timeline; device timeline
 when trials got devices"
 src="data:image/png;base64,{png}">
</body></html>
"""


def write_html(study: Study, path: str, *, text: str | None = None,
               png: bytes | None = None) -> None:
    """Write the report of ``study`` to ``path`` (``text``: its summary, ``png``: its figure,
    when the caller has them already)."""
    if text is None or png is None:
        devices = device_uses(study)
        text = summary(study) + device_text(study, devices) if text is None else text
        png = png_bytes(study, devices) if png is None else png
    page = _PAGE.format(title=html.escape(f"trialrunner report: {study.path}"),
                        summary=html.escape(text),
                        png=base64.b64encode(png).decode("ascii"))
    with open(path, "w", encoding="utf-8") as f:
        f.write(page)
