"""The continual-learning section of `harness report`'s page: the matrices and metrics (`continual_format`) and
the across-sessions plot embedded as a PNG data URI, when the runs form session sequences."""

from __future__ import annotations

import base64
import tempfile
from html import escape
from pathlib import Path

from harness.errors import InvalidInput
from harness.report.continual import session_of
from harness.report.continual_format import continual_reports, render
from harness.report.runs import Run


def continual_section(runs: list[Run], seed: int = 0, n_boot: int = 1_000, force: bool = False) -> str:
    """ "" when no run carries a session; a note instead of the matrices when they cannot be drawn (runs that did not
    see the same items, unless `force`)."""
    if not any(session_of(r) is not None and not r.is_zero_shot for r in runs):
        return ""
    try:
        reports = continual_reports(runs, n_boot=n_boot, seed=seed, force=force)
    except InvalidInput as e:
        return f'<h2 id="continual">Continual learning</h2><p class="note">{escape(str(e))}</p>'
    from harness.report.continual_plot import draw_sessions

    with tempfile.TemporaryDirectory() as tmp:
        png = draw_sessions(reports, Path(tmp) / "sessions.png")[0].read_bytes()
    img = f'<img alt="each task across sessions" src="data:image/png;base64,{base64.b64encode(png).decode()}">'
    return f'<h2 id="continual">Continual learning</h2>{render(reports, "html-fragment")}{img}'
