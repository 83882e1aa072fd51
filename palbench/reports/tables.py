"""A report as a list of blocks (headings, paragraphs, tables held as DataFrames), rendered to
Markdown and to HTML from the same blocks: no conversion of one text format into another."""

from __future__ import annotations

import html
from dataclasses import dataclass

import pandas as pd


@dataclass
class Heading:
    text: str
    level: int = 2


@dataclass
class Paragraph:
    text: str


@dataclass
class Table:
    """Cells as display strings; `bold` marks cells to emphasise; numbers align right."""

    frame: pd.DataFrame
    bold: set[tuple[int, str]] | None = None  # (row position, column)
    right: tuple[str, ...] = ()  # columns aligned right


Block = Heading | Paragraph | Table


def _markdown_cell(text: str) -> str:
    return str(text).replace("|", "\\|")


def to_markdown(blocks: list[Block]) -> str:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            lines += ["#" * block.level + " " + block.text, ""]
        elif isinstance(block, Paragraph):
            lines += [block.text, ""]
        else:
            columns = list(block.frame.columns)
            lines.append("| " + " | ".join(_markdown_cell(c) for c in columns) + " |")
            lines.append("|" + "".join("---:|" if c in block.right else "---|"
                                       for c in columns))
            for i, row in enumerate(block.frame.itertuples(index=False)):
                cells = []
                for column, value in zip(columns, row):
                    cell = _markdown_cell(value)
                    cells.append(f"**{cell}**" if block.bold and (i, column) in block.bold
                                 else cell)
                lines.append("| " + " | ".join(cells) + " |")
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def to_html(blocks: list[Block]) -> str:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out.append(f"<h{block.level}>{html.escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            out.append(f"<p>{html.escape(block.text)}</p>")
        else:
            out.append(table_html(block))
    return "\n".join(out)


def table_html(table: Table) -> str:
    columns = list(table.frame.columns)

    def cell(i: int, column: str, value) -> str:
        text = html.escape(str(value))
        if table.bold and (i, column) in table.bold:
            text = f"<strong>{text}</strong>"
        style = ' class="num"' if column in table.right else ""
        return f"<td{style}>{text}</td>"

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in columns)
    body = "".join("<tr>" + "".join(cell(i, c, v) for c, v in zip(columns, row)) + "</tr>"
                   for i, row in enumerate(table.frame.itertuples(index=False)))
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
