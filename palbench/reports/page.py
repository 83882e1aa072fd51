"""index.html: the whole report in one self-contained file (images embedded), for publishing."""

from __future__ import annotations

import base64
import html
from pathlib import Path

import pandas as pd

import palbench
from palbench.reports.tables import Block, Table, table_html, to_html

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
td.num { text-align: right; }
th.sortable { cursor: pointer; }
th[aria-sort=ascending]::after { content: " \\25B2"; }
th[aria-sort=descending]::after { content: " \\25BC"; }
"""


# a click on a header sorts its table by that column (numbers by value, the rest as text;
# again: the other way); plain JavaScript, nothing fetched
SORTING = """
document.querySelectorAll('table').forEach(table => {
  if (!table.tHead || !table.tBodies.length) return;
  const headers = [...table.tHead.rows[0].cells];
  headers.forEach((th, column) => {
    th.classList.add('sortable');
    th.title = 'sort by this column';
    th.addEventListener('click', () => {
      const ascending = th.getAttribute('aria-sort') !== 'ascending';
      headers.forEach(h => h.removeAttribute('aria-sort'));
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      const value = row => {
        const text = row.cells[column].textContent.trim();
        const number = parseFloat(text);
        return Number.isNaN(number) ? [1, text] : [0, number];
      };
      const body = table.tBodies[0];
      const rows = [...body.rows].sort((a, b) => {
        const [x, y] = [value(a), value(b)];
        const order = x[0] - y[0] || (x[0] ? x[1].localeCompare(y[1]) : x[1] - y[1]);
        return ascending ? order : -order;
      });
      rows.forEach(row => body.appendChild(row));
    });
  });
});
"""


def embedded_image(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def provenance(runs: pd.DataFrame) -> str:
    """Which code, data and machine produced the rows."""
    columns = ["experiment", "dataset", "palbench_version", "git_commit", "dataset_fingerprint",
               "device", "tag"]
    runs = runs.assign(git_commit=runs["git_commit"].fillna("-").str[:10],
                       dataset_fingerprint=runs["dataset_fingerprint"].str[:12],
                       tag=runs["tag"].fillna("-"))
    table = runs.groupby(columns, dropna=False).agg(runs=("run_id", "count"),
                                                    first=("finished_at", "min"),
                                                    last=("finished_at", "max")).reset_index()
    return table_html(Table(table.astype(str)))


def write_html(out_dir: Path, blocks: list[Block], images: list[tuple[Path, str]],
               runs: pd.DataFrame, lead: int = 1) -> Path:
    """The first `lead` blocks (the title and the one-line reading), the figures, then the
    rest of the blocks and the provenance. Every table sorts by a click on its header."""
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>palbench report</title>", f"<style>{STYLE}</style></head><body>"]
    parts.append(to_html(blocks[:lead]))
    for path, caption in images:
        parts += [f"<h2>{html.escape(caption)}</h2>", embedded_image(path, caption)]
    parts.append(to_html(blocks[lead:]))
    parts += ["<h2>Provenance</h2>", provenance(runs),
              f"<p>Written by palbench {html.escape(palbench.__version__)}.</p>",
              f"<script>{SORTING}</script>", "</body></html>"]
    path = out_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
