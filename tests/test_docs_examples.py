"""The Python blocks of the user guides run as written, one page a namespace, in order."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest

PAGES = sorted((Path(__file__).parent.parent / "docs" / "guide").glob("*.md"))


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_the_python_blocks_of_a_guide_run(page, tmp_path, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S)
    assert blocks, f"{page.name} has no Python block"
    monkeypatch.chdir(tmp_path)
    module = types.ModuleType(f"docs_{page.stem.replace('-', '_')}")
    monkeypatch.setitem(sys.modules, module.__name__, module)  # dataclasses look it up
    for block in blocks:
        exec(compile(block, str(page), "exec"), module.__dict__)  # noqa: S102
