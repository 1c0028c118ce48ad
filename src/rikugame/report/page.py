"""The one look of every HTML page rikugame writes (backtest, HPA backtest, recommend).

A page is: the title (the trace's or the report's name, never an absolute path), one line of what produced
it, a **summary** that gives the verdict in words, then sections (tables with units and better/worse
arrows, plots as inline SVG). Self-contained: the style and the few lines of script (sortable tables,
copy buttons) are inline; no external URL is ever referenced.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Better = Literal["higher", "lower"] | None

STYLE = """
:root{--ink:#1d2330;--muted:#5b6475;--line:#d9dde5;--head:#f2f4f8;--good:#17803d;--bad:#b42318;--accent:#2457c5}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2em auto;max-width:1180px;
 padding:0 1em;color:var(--ink);line-height:1.45}
h1{font-size:1.7em;margin:.2em 0}
h2{font-size:1.25em;margin:1.6em 0 .4em;border-bottom:1px solid var(--line);padding-bottom:.2em}
h3{font-size:1.05em;margin:1.2em 0 .3em}
.produced{color:var(--muted);font-size:13px;margin:0 0 1em}
.summary{background:#f6f8fc;border-left:4px solid var(--accent);padding:.7em 1.1em;margin:1em 0 1.4em;
 font-size:16px}
.summary p{margin:.35em 0}
.note{color:var(--muted);font-size:13px}
table{border-collapse:collapse;margin:.6em 0;font-size:13.5px}
th,td{border:1px solid var(--line);padding:4px 8px;text-align:right;vertical-align:top}
td{white-space:nowrap}
th:first-child,td:first-child{text-align:left}
th{background:var(--head);font-weight:600}
th .unit{display:block;font-weight:400;color:var(--muted);font-size:12px}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
td.better{color:var(--good)}td.worse{color:var(--bad)}
.arrow{font-size:11px;margin-left:3px}
tr.highlight td{font-weight:600}
.fig{margin:.4em 0}
.fig svg{max-width:100%;height:auto}
.figs{display:flex;flex-wrap:wrap;gap:1em}
pre.yaml{background:#f6f8fa;border:1px solid var(--line);padding:.6em;overflow:auto;font-size:12.5px;margin:.3em 0}
button.copy{font-size:12px;padding:2px 8px;cursor:pointer}
details{margin:.3em 0}
code{font-size:92%}
"""

SCRIPT = """
(function(){
function key(td){var v=td.getAttribute('data-sort');if(v===null)v=td.textContent.trim();
 var n=parseFloat(v.replace(/[,$%×]/g,''));return isNaN(n)?v.toLowerCase():n;}
document.querySelectorAll('table.sortable').forEach(function(t){
 t.querySelectorAll('thead th').forEach(function(th,i){th.addEventListener('click',function(){
  var asc=th.getAttribute('aria-sort')!=='ascending';
  t.querySelectorAll('thead th').forEach(function(o){o.removeAttribute('aria-sort');});
  th.setAttribute('aria-sort',asc?'ascending':'descending');
  var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
  rows.sort(function(a,b){var x=key(a.cells[i]),y=key(b.cells[i]);
   if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
  rows.forEach(function(r){body.appendChild(r);});});});});
document.querySelectorAll('button.copy').forEach(function(b){b.addEventListener('click',function(){
 var pre=document.getElementById(b.getAttribute('data-target'));
 if(navigator.clipboard){navigator.clipboard.writeText(pre.textContent);}
 else{var r=document.createRange();r.selectNodeContents(pre);var s=window.getSelection();
  s.removeAllRanges();s.addRange(r);document.execCommand('copy');}
 b.textContent='copied';});});
})();
"""


def esc(text: object) -> str:
    """HTML-escaped text."""
    return html.escape(str(text), quote=True)


@dataclass(frozen=True)
class Column:
    """A table column: its words, its unit, which direction is better, and how to show a value."""

    label: str
    unit: str = ""
    better: Better = None
    show: Callable[[float], str] = lambda v: f"{v:,.2f}"


def _arrow_header(col: Column) -> str:
    hint = {"higher": "↑ better", "lower": "↓ better", None: ""}[col.better]
    unit = ", ".join(p for p in (col.unit, hint) if p)
    return f"{esc(col.label)}" + (f"<span class='unit'>{esc(unit)}</span>" if unit else "")


def comparison_table(first_header: str, columns: Sequence[Column],
                     rows: Sequence[tuple[str, Sequence[float | None]]], *, reference: str | None = None,
                     highlight: str | None = None, sortable: bool = False) -> str:
    """A table of numbers, one row per name; with ``reference``, every other row's cells carry a
    better/worse arrow against that row (by each column's ``better`` direction)."""
    ref = dict(rows).get(reference) if reference is not None else None
    head = f"<th>{esc(first_header)}</th>" + "".join(f"<th>{_arrow_header(c)}</th>" for c in columns)
    body = []
    for name, values in rows:
        cells = []
        for i, (col, value) in enumerate(zip(columns, values, strict=True)):
            if value is None or value != value:  # NaN
                cells.append("<td data-sort=''>—</td>")
                continue
            cls, mark = "", ""
            base = ref[i] if ref is not None and name != reference else None
            if col.better is not None and base is not None and base == base and value != base:
                good = (value > base) == (col.better == "higher")
                cls = " class='better'" if good else " class='worse'"
                mark = (f"<span class='arrow' title='{'better' if good else 'worse'} than {esc(reference)}'>"
                        f"{'▲' if value > base else '▼'}</span>")
            cells.append(f"<td{cls} data-sort='{value!r}'>{esc(col.show(value))}{mark}</td>")
        row_cls = " class='highlight'" if name == highlight else ""
        body.append(f"<tr{row_cls}><td>{esc(name)}</td>{''.join(cells)}</tr>")
    cls = " class='sortable'" if sortable else ""
    legend = (f"<p class='note'><span class='arrow' style='color:var(--good)'>▲▼</span> better, "
              f"<span class='arrow' style='color:var(--bad)'>▲▼</span> worse than {esc(reference)} "
              "(the arrow points the way the number moved).</p>") if ref is not None else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>{legend}"


def text_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, sortable: bool = False,
               sort_keys: Sequence[Sequence[str | None]] | None = None,
               row_classes: Sequence[str] | None = None) -> str:
    """A table of already formatted text (escaped here); ``sort_keys`` gives a cell's sort value."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for r, row in enumerate(rows):
        cells = []
        for c, cell in enumerate(row):
            key = sort_keys[r][c] if sort_keys is not None else None
            attr = f" data-sort='{esc(key)}'" if key is not None else ""
            cells.append(f"<td{attr}>{esc(cell)}</td>")
        cls = f" class='{esc(row_classes[r])}'" if row_classes is not None and row_classes[r] else ""
        body.append(f"<tr{cls}>{''.join(cells)}</tr>")
    cls = " class='sortable'" if sortable else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def copyable_yaml(ident: str, label: str, text: str) -> str:
    """A collapsible YAML block with a copy button."""
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in ident)
    return (f"<details><summary>{esc(label)}</summary>"
            f"<button class='copy' type='button' data-target='{safe}'>copy</button>"
            f"<pre class='yaml' id='{safe}'>{esc(text)}</pre></details>")


def figure(svg: str, caption: str = "") -> str:
    """An inline SVG figure with an optional caption."""
    cap = f"<div class='note'>{esc(caption)}</div>" if caption else ""
    return f"<div class='fig'>{svg}{cap}</div>"


def page(*, title: str, produced: str, summary: Sequence[str], sections: Sequence[tuple[str, str]]) -> str:
    """The whole page. ``summary`` items and section bodies are HTML fragments (escape what you put in)."""
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<meta name='viewport' content='width=device-width,initial-scale=1'>",
             f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{esc(title)}</h1><p class='produced'>{esc(produced)}</p>",
             "<section class='summary' id='summary'>" + "".join(f"<p>{s}</p>" for s in summary) + "</section>"]
    for heading, body in sections:
        parts.append(f"<section><h2>{esc(heading)}</h2>{body}</section>")
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts)


def write(path: Path, text: str) -> int:
    """Write ``text`` to ``path`` atomically (the directory must exist); returns the size in bytes."""
    data = text.encode("utf-8")
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return len(data)


def trace_name(source: str) -> str:
    """A page title for a trace: its file or directory name, not the absolute path."""
    name = Path(source.rstrip("/")).name
    return name or source
