"""No help text, docs page, README line or docstring points at a file, folder or section that
does not exist (mkdocs --strict checks the site's own links; this checks the rest: paths in
prose and code spans, the README's links, every `--help`)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# a repository path: a top folder of this repository, then at least one more part
PATH = re.compile(r"(?<![\w./-])((?:docs|configs|palbench|tests|examples|tools|\.ci)/"
                  r"[\w.*/-]*[\w*/])(#[\w-]+)?")
GENERATED = ("docs/generated/",)  # report pages written by the studies' commands


def exists(path: str) -> bool:
    path = path.split("::")[0].rstrip("/.")
    if "*" in path:
        return any(ROOT.glob(path))
    return (ROOT / path).exists()


def missing_paths(text: str) -> list[str]:
    """Paths that do not exist, and `page.md#section` pointers whose page has no such
    heading."""
    bad = set()
    for match in PATH.finditer(text):
        path, anchor = match.group(1), match.group(2)
        if text[match.end():match.end() + 1] in ("$", "{") or re.search(r"/[A-Z]+(/|$)", path):
            continue  # a template ("docs/paper/NAME/", "configs/x${part}.toml"), not a path
        if not exists(path):
            bad.add(path)
        elif anchor and path.endswith(".md") and anchor[1:] not in headings(ROOT / path):
            bad.add(path + anchor)
    return sorted(bad)


def help_texts() -> dict[str, str]:
    """Every command's --help, as a user sees it."""
    from palbench.cli import build_parser

    found = {}

    def walk(parser: argparse.ArgumentParser, name: str):
        found[name] = parser.format_help()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub, child in action.choices.items():
                    walk(child, f"{name} {sub}")

    walk(build_parser(), "palbench")
    return found


def pages() -> list[Path]:
    docs = [p for p in (ROOT / "docs").rglob("*.md")
            if not str(p.relative_to(ROOT)).startswith(GENERATED)]
    return [ROOT / "README.md", *docs]


def test_every_help_points_at_what_exists():
    bad = {name: missing_paths(text) for name, text in help_texts().items()}
    assert not {k: v for k, v in bad.items() if v}


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_page_points_at_what_exists(page):
    assert missing_paths(page.read_text()) == []


def test_every_docstring_and_comment_points_at_what_exists():
    bad = {str(p.relative_to(ROOT)): missing_paths(p.read_text())
           for p in [*(ROOT / "palbench").rglob("*.py"), *(ROOT / "palbench").rglob("*.toml"),
                     *(ROOT / "configs").rglob("*.toml"), *(ROOT / "configs").rglob("*.sh"),
                     *(ROOT / "configs").rglob("*.csv"), ROOT / ".ci" / "run"]}
    assert not {k: v for k, v in bad.items() if v}


def headings(page: Path) -> set[str]:
    """The anchors MkDocs gives a page's headings (lower case, punctuation dropped, spaces to
    hyphens)."""
    found = set()
    for line in page.read_text().splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            found.add(re.sub(r"\s+", "-", re.sub(r"[^\w\s-]", "", title)).strip("-"))
    return found


def test_the_readme_links_lead_somewhere():
    """The README is not part of the site, so its links are checked here, anchors included."""
    readme = (ROOT / "README.md").read_text()
    for target in re.findall(r"\]\(([^)\s]+)\)", readme):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, anchor = target.partition("#")
        assert (ROOT / path).exists(), target
        if anchor and path.endswith(".md"):
            assert anchor in headings(ROOT / path), target


def test_the_check_finds_a_stale_pointer():
    assert exists("configs/deep/digits_labels.toml")
    assert missing_paths("see docs/guide/nowhere.md, `configs/deep/digits_labels.toml`, "
                         "docs/guide/config.md#writing-a-config and "
                         "docs/guide/config.md#gone") == ["docs/guide/config.md#gone",
                                                         "docs/guide/nowhere.md"]


def test_the_demo_line_of_the_performance_page_is_the_demo_as_it_is():
    """docs/performance.md names the demo's size: it must be demo.toml's (re-measure the time
    when this fails)."""
    from palbench.bench.config import load_plan
    from palbench.cli_parsers import demo_config

    plan = load_plan(demo_config())
    line = f"| demo ({len(plan.cells)} runs x {len(plan.experiment.budgets)} checkpoints, "
    assert line in (ROOT / "docs" / "performance.md").read_text()
