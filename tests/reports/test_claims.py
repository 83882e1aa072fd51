"""palbench check: the project's own claims (claims/ci.toml) pass end to end, a violated bound
fails with exit 1 and a JUnit failure, a bad claims file is one line and exit 2."""

from __future__ import annotations

import shutil
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from palbench.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """claims/ci.toml against a fresh store: runs its two small configs, then checks."""
    folder = tmp_path_factory.mktemp("claims")
    store, junit = folder / "claims.sqlite", folder / "claims.xml"
    code = main(["check", str(ROOT / "claims" / "ci.toml"), "--store", str(store),
                 "--junit", str(junit), "--workers", "2"])
    return code, store, junit


def test_project_claims_pass_and_write_junit(checked, capsys):
    code, _, junit = checked
    assert code == 0
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "5" and suite.get("failures") == "0"
    assert all(case.find("failure") is None for case in suite.iter("testcase"))


def claim_file(tmp_path, body: str) -> Path:
    path = tmp_path / "claims.toml"
    path.write_text(textwrap.dedent(body))
    return path


def test_violated_bound_fails_with_exit_1(checked, tmp_path, capsys):
    _, store, _ = checked
    path = claim_file(tmp_path, """
        [[claim]]
        name = "margin reaches 95% within 40 labels"
        dataset = "digits"
        strategy = "margin"
        experiment = "claims-digits"
        metric = "cost_to_reach"
        target = 0.95
        at_most = 40
        [[claim]]
        name = "margin's final accuracy is at least 0.9"
        dataset = "digits"
        strategy = "margin"
        experiment = "claims-digits"
        metric = "final_acc"
        at_least = 0.9
    """)
    junit = tmp_path / "j.xml"
    assert main(["check", str(path), "--store", str(store), "--no-run", "--junit",
                 str(junit)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL  margin reaches 95% within 40 labels: cost_to_reach(0.95)")
    assert "not reached" in out[0] or "<= 40" in out[0]
    assert out[1].startswith("PASS  margin's final accuracy is at least 0.9: final_acc = ")
    assert out[-1] == "palbench check: 1 passed, 1 failed"
    failures = list(ET.parse(junit).getroot().iter("failure"))
    assert len(failures) == 1


@pytest.mark.parametrize("body,words", [
    ('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\nmetric = "cost_to_reach"\n'
     'at_most = 3', "claim[0].target"),
    ('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\nmetric = "aulc"\nat_most = 3\n'
     'at_least = 1', "exactly one bound"),
    ('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\nmetric = "speed"\nat_most = 3',
     "claim[0].metric"),
    ('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\nmetric = "aulc"\n'
     'relative_to = "random"\nat_least = 1', "relative_to"),
    ('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\nmetric = "aulc"\nat_least = 1\n'
     'confidance = 0.9', "did you mean 'confidence'"),
    ('[[claim]]\nname = "x"\ndataset = "d"\nstrategy = "s"\nmetric = "aulc"\nat_least = 1\n'
     'config = "nope.toml"', "claim[0].config"),
    ('[claims]\nname = "x"', "did you mean 'claim'"),
])
def test_bad_claims_file_is_one_line_and_exit_2(tmp_path, capsys, body, words):
    path = claim_file(tmp_path, body)
    assert main(["check", str(path), "--store", str(tmp_path / "s.sqlite")]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_claims_file_paths_resolve_next_to_it(tmp_path):
    from palbench.reports.claims import load_claims

    shutil.copytree(ROOT / "claims", tmp_path / "claims")
    shutil.copytree(ROOT / "configs", tmp_path / "configs")
    claims = load_claims(tmp_path / "claims" / "ci.toml")
    assert all(Path(c.config).is_file() for c in claims)


@pytest.mark.slow
def test_paper_claims_hold_at_full_scale(tmp_path):
    """claims/paper.toml on the full 20-seed toy configs (about 2 minutes on 2 cores)."""
    assert main(["check", str(ROOT / "claims" / "paper.toml"), "--store",
                 str(tmp_path / "paper.sqlite"), "--workers", "2"]) == 0
