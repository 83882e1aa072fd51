"""index.html: the whole report in one self-contained file (images embedded), for publishing."""

from __future__ import annotations

import base64
import html
import re
from pathlib import Path

import pandas as pd

import palbench

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; border: 1px solid #eee; margin: 0.5em 0; }
code { background: #f6f6f6; padding: 0 3px; }
"""


def inline(text: str) -> str:
    text = html.escape(text)
    text = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", text)
    return re.sub(r"`(.+?)`", r"<code>\1</code>", text)


def markdown_to_html(markdown: str) -> str:
    """The small subset of Markdown the leaderboard uses: headings, paragraphs, tables."""
    out, table = [], []

    def flush_table():
        if not table:
            return
        rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table]
        head, body = rows[0], [r for r in rows[2:]]
        out.append("<table><thead><tr>" + "".join(f"<th>{inline(c)}</th>" for c in head) +
                   "</tr></thead><tbody>" +
                   "".join("<tr>" + "".join(f"<td>{inline(c)}</td>" for c in row) + "</tr>"
                           for row in body) + "</tbody></table>")
        table.clear()

    for line in markdown.splitlines():
        if line.startswith("|"):
            table.append(line)
            continue
        flush_table()
        if line.startswith("## "):
            out.append(f"<h2>{inline(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{inline(line[2:])}</h1>")
        elif line.strip():
            out.append(f"<p>{inline(line)}</p>")
    flush_table()
    return "\n".join(out)


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
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in table.itertuples(index=False))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def write_html(out_dir: Path, leaderboard_md: str, images: list[tuple[Path, str]],
               runs: pd.DataFrame) -> Path:
    parts = ["<!doctype html><html lang='en'><head><meta charset='utf-8'>",
             "<title>palbench report</title>", f"<style>{STYLE}</style></head><body>"]
    board = markdown_to_html(leaderboard_md)
    title, _, rest = board.partition("\n")  # the leaderboard's own heading goes first
    parts.append(title)
    for path, caption in images:
        parts += [f"<h2>{html.escape(caption)}</h2>", embedded_image(path, caption)]
    parts.append(rest)
    parts += ["<h2>Provenance</h2>", provenance(runs),
              f"<p>Written by palbench {html.escape(palbench.__version__)}.</p>",
              "</body></html>"]
    path = out_dir / "index.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
