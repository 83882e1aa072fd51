"""The documentation cannot drift from the code: every fenced Python and shell block of the
site's pages runs as written (one namespace a page, in order, in a fresh folder), unless its
first line says `# not run: <why>`; the tutorial notebook runs end to end; the config
reference documents every parameter."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

DOCS = Path(__file__).parents[2] / "docs"
# study outputs (generated reports) hold no examples; every other page is checked
PAGES = sorted(p for p in DOCS.rglob("*.md") if not (p.parent / "index.html").exists())
NOT_RUN = re.compile(r"^# not run: \S")


def blocks(page: Path, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", page.read_text(encoding="utf-8"), re.S)


def test_every_page_with_an_example_is_found():
    names = {p.relative_to(DOCS).as_posix() for p in PAGES}
    assert {"getting-started.md", "guide/your-own-strategy.md", "guide/python-api.md",
            "guide/your-own-components.md"} <= names


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(DOCS).as_posix() for p in PAGES])
def test_the_examples_of_a_page_run(page, tmp_path, monkeypatch):
    python, shell = blocks(page, "python"), blocks(page, "sh")
    for block in shell:
        first = block.splitlines()[0] if block.strip() else ""
        assert not first.startswith("#") or NOT_RUN.match(first), \
            f"{page.name}: a shell block's first comment must be '# not run: <why>'"
    if not python and all(NOT_RUN.match(b) for b in shell):
        pytest.skip("no runnable example")
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"docs_{re.sub(r'[^a-z0-9]', '_', page.stem)}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look it up
    for block in python:
        exec(compile(block, str(page), "exec"), module.__dict__)  # noqa: S102
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}"
           f"{os.environ.get('PATH', '')}"}
    for block in shell:
        if NOT_RUN.match(block):
            continue
        done = subprocess.run(["bash", "-e", "-c", block], capture_output=True, text=True,
                              env=env, timeout=600)
        assert done.returncode == 0, f"{page.name}:\n{block}\n{done.stderr[-3000:]}"


def test_the_tutorial_notebook_runs_end_to_end(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    notebook = nbformat.read(DOCS / "tutorial" / "your-own-strategy.ipynb", as_version=4)
    nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", ""))
                      for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "the contract holds" in outputs and "# palbench leaderboard" in outputs
    assert (tmp_path / "tutorial-report" / "index.html").exists()


def test_every_parameter_of_every_built_in_is_documented():
    from palbench.reference import markdown, undocumented

    assert undocumented() == []
    text = markdown()
    from palbench.reference import built_ins, kinds
    for section, registry in kinds().items():
        for name in built_ins(registry):
            assert f"### `{name}`" in text, (section, name)
