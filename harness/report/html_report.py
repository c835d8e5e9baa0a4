"""`harness report`: one self-contained HTML page of what an encoder update changed, item by item.

Per task: each run's primary metrics with 95% intervals, B − A as `harness compare` computes it, the
paired flips against the first run with McNemar's p, and the task's per-category breakdown as an inline
SVG chart. Then a gallery of flipped items (forgotten first, at most `max_items` per task) with the image
(a JPEG thumbnail embedded as a data URI), the question, the options and each run's option probabilities
(softmax over the options' log-probabilities), filterable by task, category and kind. All text is escaped.
"""

from __future__ import annotations

import time
from html import escape
from pathlib import Path
from typing import Any

from harness.report.comparable import require_comparable, unique_names
from harness.report.continual_html import continual_section
from harness.report.flips import FLIP_KINDS, KIND_TITLES, FlipItem, TaskReport, option_probs, task_reports
from harness.report.html_page import page
from harness.report.item_images import TaskData, data_uri, image_budget, item_text, open_task_data, thumbnail_jpeg
from harness.report.runs import Run, metric_title
from harness.report.stats import DEFAULT_N_BOOT
from harness.report.svg import category_chart, flip_bar, run_color
from harness.tasks.answers import LETTERS

MAX_OPTION_ROWS = 8


def _pct(v: float | None, signed: bool = False) -> str:
    if v is None or v != v:
        return "–"
    return f"{100 * v:+.1f}" if signed else f"{100 * v:.1f}"


def _p(p: float | None) -> str:
    return "–" if p is None else f"{p:.3f}" if p >= 0.001 else f"{p:.1e}"


def _swatch(i: int) -> str:
    return f'<span class="swatch" style="background:{run_color(i)}"></span>'


def _header(runs: list[Run], names: list[str], warnings: list[str]) -> str:
    rows = []
    for i, (r, n) in enumerate(zip(runs, names)):
        enc = (r.results.get("encoder") or {}).get("path") or "original encoder (zero-shot)"
        role = "reference" if i == 0 else f"compared with {escape(names[0])}"
        rows.append(
            f"<tr><td>{_swatch(i)}<b>{escape(n)}</b></td><td>{escape(r.vlm)}</td><td>{escape(str(enc))}</td>"
            f'<td class="mut">{role}</td><td class="mut small">{escape(str(r.path))}</td></tr>'
        )
    notes = "".join(f'<div class="note">runs differ: {escape(w)}</div>' for w in warnings)
    return (
        "<h1>What the update changed</h1>"
        f'<p class="mut">Items each run got right or wrong, paired with the reference run '
        f"<b>{escape(names[0])}</b>: <span class=f>forgotten</span> = right before, wrong after; "
        f"<span class=l>learned</span> = wrong before, right after.</p>"
        f'<table class="runs">{"".join(rows)}</table>{notes}'
    )


def _metric_table(t: TaskReport, names: list[str]) -> str:
    metrics = [m.metric for m in t.metrics[0]]
    head = "<th>run</th>" + "".join(f"<th>{escape(metric_title(m))} [95% CI]</th>" for m in metrics)
    head += "".join(f"<th>Δ {escape(metric_title(m))} [95% CI]</th>" for m in metrics)
    head += "".join(f"<th>{KIND_TITLES[k]}</th>" for k in FLIP_KINDS) + "<th>McNemar p</th><th></th>"
    rows = []
    for i, (name, ms) in enumerate(zip(names, t.metrics)):
        cells = [f"<td>{_swatch(i)}{escape(name)}</td>"]
        for m in ms:
            ci = f'<span class="ci">[{_pct(m.low)}, {_pct(m.high)}]</span>' if m.low is not None else ""
            cells.append(f"<td>{_pct(m.value)}{ci}</td>")
        cmps = t.comparisons[i - 1] if i else []
        for j in range(len(metrics)):
            c = cmps[j] if j < len(cmps) else None
            d = c.diff if c else None
            ci = f'<span class="ci">[{_pct(d.low, True)}, {_pct(d.high, True)}]</span>' if d else ""
            cells.append(f"<td>{_pct(d.estimate, True) if d else ''}{ci}</td>")
        fl = t.flips[i - 1] if i else None
        if fl is None:
            cells.append('<td colspan="6" class="mut">reference</td>' if i == 0 else '<td colspan="6">–</td>')
        else:
            cls = {"forgotten": ' class="f"', "learned": ' class="l"'}
            cells += [f'<td data-kind="{k}"{cls.get(k, "")}>{fl.get(k)}</td>' for k in FLIP_KINDS]
            cells.append(f"<td>{_p(fl.p_value)}</td><td>{flip_bar(fl)}</td>")
        rows.append(f'<tr data-run="{i}">' + "".join(cells) + "</tr>")
    return f'<div class="scroll"><table class="m"><tr>{head}</tr>{"".join(rows)}</table></div>'


def _task_section(t: TaskReport, names: list[str], data: TaskData) -> str:
    n = t.flips[0].n if t.flips and t.flips[0] else 0
    parts = [f'<div class="task" id="t-{escape(t.key, quote=True)}"><h2>{escape(t.title)}</h2>']
    parts.append(f'<p class="mut small">{n} items paired · metric values in %, Δ in points vs {escape(names[0])}')
    parts.append(" (CI: paired bootstrap, as <code>harness compare</code>)</p>")
    parts.append(_metric_table(t, names))
    if t.categories and [c.name for c in t.categories] != ["all"]:
        parts.append(f"<h3>By {escape(t.category_title)}</h3>")
        parts.append(f'<p class="mut small">{escape(t.category_source)}; beside each bar: −forgotten +learned</p>')
        parts.append(category_chart(t.categories, names, f"{t.title} by {t.category_title}"))
        if t.categories_left_out:
            parts.append(f'<p class="mut small">{t.categories_left_out} smaller categories not shown.</p>')
    if data.task is None:
        parts.append(f'<div class="note">Images not shown: {escape(data.where)}</div>')
    parts.append("</div>")
    return "".join(parts)


def _option_rows(samples: list[dict[str, Any] | None]) -> list[int]:
    """The options to show: all, or when there are many, the answer, the picks and the likeliest."""
    ref = next(s for s in samples if s is not None)
    k = len(ref.get("choices") or [])
    if k <= MAX_OPTION_ROWS:
        return list(range(k))
    keep = {ref.get("answer", -1)} | {s.get("pred", -1) for s in samples if s}
    best = [max((option_probs(s) or [0.0] * k)[i] for s in samples if s) for i in range(k)]
    for i in sorted(range(k), key=lambda i: -best[i]):
        if len(keep) >= MAX_OPTION_ROWS:
            break
        keep.add(i)
    return sorted(i for i in keep if 0 <= i < k)


def _card(it: FlipItem, title: str, names: list[str], data: TaskData, image: str) -> str:
    ref = next(s for s in it.samples if s is not None)
    question, from_data = item_text(data, it.id, ref)
    kinds = sorted({k for k in it.kinds if k}, key=FLIP_KINDS.index)
    badges = "".join(
        f'<span class="badge {k}" title="{escape(names[j + 1], quote=True)}">{KIND_TITLES[k]}</span>'
        for j, k in enumerate(it.kinds)
        if k
    )
    head = f"{escape(title)} · {escape(it.category)} · <code>{escape(it.id)}</code>{badges}"
    q_cls = "q" if from_data else "q prompt"
    choices, answer = ref.get("choices") or [], ref.get("answer", -1)
    th = "".join(f"<th>{_swatch(j)}{escape(n)}</th>" for j, n in enumerate(names))
    rows = []
    for o in _option_rows(it.samples):
        mark = " ✓" if o == answer else ""
        cells = [f'<td class="opt">{LETTERS[o] if o < len(LETTERS) else o}. {escape(str(choices[o]))}{mark}</td>']
        for j, s in enumerate(it.samples):
            probs = option_probs(s) if s else None
            pick = s is not None and s.get("pred") == o
            cls = ' class="pick" title="pick"' if pick else ""
            if probs is None:
                cells.append(f"<td{cls}>{'pick' if pick else ''}</td>")
                continue
            fill = f"width:{100 * probs[o]:.1f}%;background:{run_color(j)}"
            bar = f'<span class="bar"><span style="{fill}"></span></span>'
            shown = "<1" if 0 < probs[o] < 0.005 else f"{100 * probs[o]:.0f}"
            cells.append(f"<td{cls}>{bar} {shown}%</td>")
        rows.append(f'<tr class="{"ans" if o == answer else ""}">{"".join(cells)}</tr>')
    hidden = len(choices) - len(rows)
    more = f'<tr><td colspan="{len(names) + 1}" class="mut">… {hidden} other options</td></tr>' if hidden > 0 else ""
    gens = "".join(
        f'<div class="gen">{escape(names[j])} generated: “{escape(str(s["generation"]))}”</div>'
        for j, s in enumerate(it.samples)
        if s and "generation" in s
    )
    attrs = (
        f'data-task="{escape(it.task, quote=True)}" data-cat="{escape(it.category, quote=True)}" '
        f'data-kinds="{" ".join(kinds)}"'
    )
    return (
        f'<div class="card {it.first_kind}" {attrs}><div class="pic">{image}</div><div class="body">'
        f'<div class="head">{head}</div><div class="{q_cls}">{escape(question)}</div>'
        f'<table class="o"><tr><th>option</th>{th}</tr>{"".join(rows)}{more}</table>{gens}</div></div>'
    )


def _image_html(data: TaskData, item_id: str, budget: int) -> str:
    im = data.image(item_id)
    if isinstance(im, str):
        return f'<div class="noimg">{escape(im)}</div>'
    return f'<img src="{data_uri(thumbnail_jpeg(im, budget))}" alt="{escape(item_id, quote=True)}">'


def _gallery(reports: list[TaskReport], names: list[str], datas: dict[str, TaskData], max_items: int) -> str:
    n_shown = sum(len(t.items) for t in reports)
    budget = image_budget(n_shown)
    notes = []
    for t in reports:
        left = t.n_flipped_items - len(t.items)
        if left > 0:
            notes.append(
                f"{escape(t.title)}: {len(t.items)} of {t.n_flipped_items} flipped items shown, "
                f"{left} left out (--max-items {max_items}; in all {t.n_flipped['forgotten']} forgotten, "
                f"{t.n_flipped['learned']} learned)"
            )
        if t.items and datas[t.key].task is None:
            notes.append(f"{escape(t.title)}: text only, no images ({escape(datas[t.key].where)})")
    task_opts = "".join(f'<option value="{escape(t.key, quote=True)}">{escape(t.title)}</option>' for t in reports)
    kind_opts = "".join(f'<option value="{k}">{KIND_TITLES[k]}</option>' for k in ("forgotten", "learned"))
    legend = " ".join(f"{_swatch(j)}{escape(n)}" for j, n in enumerate(names))
    cards = [
        _card(it, t.title, names, datas[t.key], _image_html(datas[t.key], it.id, budget))
        for t in reports
        for it in t.items
    ]
    return (
        f'<h2 id="gallery">Flipped items</h2><p class="mut small">Bars: the run\'s probability of each option '
        f"(softmax over the options' log-likelihoods); outlined: the run's pick; ✓: the answer. {legend}</p>"
        + "".join(f'<div class="note">{n}</div>' for n in notes)
        + '<div class="filters"><label>task <select id="f-task"><option value="">all</option>'
        + task_opts
        + '</select></label><label>category <select id="f-cat"><option value="">all</option></select></label>'
        + '<label>kind <select id="f-kind"><option value="">all</option>'
        + kind_opts
        + f'</select></label><span class="mut"><span id="f-count">{len(cards)}</span> of {len(cards)} shown</span>'
        + "</div>"
        + (f'<div class="cards">{"".join(cards)}</div>' if cards else '<p class="mut">No item flipped.</p>')
    )


def build_report(
    runs: list[Run],
    max_items: int = 200,
    data_root: Path | None = None,
    data: dict[str, Path] | None = None,
    force: bool = False,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    continual: list[Run] | None = None,
) -> tuple[str, list[str]]:
    """The page's HTML and the warnings (differences between the runs, when `force` let them through). Runs that
    form continual-learning sequences (`continual`, default: among `runs`) add the session × task matrices."""
    if max_items < 0:
        raise ValueError(f"--max-items must be 0 or more, got {max_items}")
    warnings = require_comparable(runs, force)
    by_id = unique_names(runs)
    names = [by_id[id(r)] for r in runs]
    reports = task_reports(runs, max_items=max_items, n_boot=n_boot, seed=seed)
    datas = {t.key: open_task_data(runs, t.key, [it.id for it in t.items], data_root, data) for t in reports}
    nav = " · ".join(f'<a href="#t-{escape(t.key, quote=True)}">{escape(t.title)}</a>' for t in reports)
    body = (
        _header(runs, names, warnings)
        + f'<p>{nav} · <a href="#gallery">flipped items</a></p>'
        + "".join(_task_section(t, names, datas[t.key]) for t in reports)
        + continual_section(runs if continual is None else continual, seed, force=force)
        + _gallery(reports, names, datas, max_items)
        + f"<footer>harness report · {escape(time.strftime('%Y-%m-%d %H:%M'))} · right = the pick is the "
        "answer (per-item acc); McNemar: exact two-sided test on forgotten vs learned.</footer>"
    )
    return page(f"harness report: {' vs '.join(names)}", body), warnings


def write_report(runs: list[Run], out: Path | str, **kw: Any) -> tuple[Path, list[str]]:
    """Write the page to `out` (folders created); returns the path and the warnings."""
    out = Path(out)
    if out.is_dir():
        raise ValueError(f"--out {out} is a folder; give a file name, e.g. {out / 'report.html'}")
    html, warnings = build_report(runs, **kw)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out, warnings
