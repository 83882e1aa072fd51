"""A run's identity is derived from the declarations, never listed: every declared parameter
of [experiment], [costs] and every registered component (nested components included) either
changes the spec hash when changed, or is declared as changing no result; the defaults of a
nested component reach the hash; existing stores keep their hashes."""

from __future__ import annotations

import dataclasses
import typing

import pytest
import tomllib

from palbench.bench.config import plan_from_raw
from palbench.bench.experiment import Experiment
from palbench.fields import changes_results, default_of, identity, is_late, nested_kind, parameters
from palbench.kinds import KINDS
from palbench.oracles.costs import Costs
from palbench.protocol import build_nested, registry_of


def registered() -> list[tuple[str, str]]:
    return [(kind.name, name) for kind in KINDS.values()
            for name in kind.registry_object().names()
            if kind.registry_object().get(name).__module__.startswith("palbench.")]


def instance(kind: str, name: str):
    """The component with its defaults; a required parameter (no default) gets a value of
    its type."""
    cls = registry_of(kind).get(name)
    hints = typing.get_type_hints(cls)
    return cls(**{f.name: other_value(None, hints[f.name] | None)
                  for f in parameters(cls) if default_of(f) is dataclasses.MISSING})


def other_value(value, hint):
    """A value of the field's type that differs from `value` (validity is not needed: the
    hash is computed from the record, before any check)."""
    if value is None:
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        target = typing.get_origin(args[0]) or args[0]
        return {int: 1, float: 0.5, str: "x", tuple: (1,), dict: {"k": 1}}[target]
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):  # a probability stays one (nested tables are checked)
        return value / 2 if 0 < value <= 1 else value + 0.25
    if isinstance(value, str):
        return value + "-other"
    if isinstance(value, tuple):
        return (*value, value[-1]) if value else (1,)
    if isinstance(value, dict):
        return {**value, "another_key": 1}
    raise AssertionError(f"no other value for {value!r} ({hint})")


def hints_of(obj) -> dict:
    return typing.get_type_hints(type(obj))


def assert_every_field_declared(obj, where: str) -> int:
    """Each parameter of `obj` changes its identity when changed, unless declared not to
    change results (then it must not). Nested components: each of their parameters too."""
    checked = 0
    base = identity(obj)
    for f in parameters(obj):
        value = getattr(obj, f.name)
        if nested_kind(f):
            checked += assert_nested(obj, f, value, where)
            continue
        changed = dataclasses.replace(obj, **{f.name: other_value(value, hints_of(obj)[f.name])})
        if changes_results(f):
            assert identity(changed) != base, f"{where}.{f.name} does not reach the spec hash"
        else:
            assert identity(changed) == base, f"{where}.{f.name} is declared as changing no " \
                                              "result, but it changed the spec hash"
        checked += 1
    return checked


def assert_nested(obj, f, value, where: str) -> int:
    """A nested table: its identity is the built component's (every default there), and
    each of the inner component's parameters reaches the outer hash."""
    base = identity(obj)
    if value is None and nested_kind(f) == "encoder":  # an optional encoder: one set
        table = {"name": "factory", "factory": "torch.nn:Flatten"}
        assert identity(dataclasses.replace(obj, **{f.name: table}))[f.name] == \
            {**table, "batch_size": 256}, f"{where}.{f.name} does not reach the spec hash"
        return 1
    if value is None:  # a list of tables over a base (a workers pool): one empty table
        assert identity(dataclasses.replace(obj, **{f.name: ({},)})) != base, \
            f"{where}.{f.name} does not reach the spec hash"
        return 1
    inner = build_nested(nested_kind(f), value, f"{where}.{f.name}")
    held = base[f.name]
    content = inner.content_identity()
    assert held == {"name": value["name"], **identity(inner),
                    **({"content_identity": content} if content else {})}, \
        f"{where}.{f.name}: the hash holds the raw table, not the built component"
    for g in parameters(inner):
        if not changes_results(g) or nested_kind(g):
            continue
        other = other_value(getattr(inner, g.name), hints_of(inner)[g.name])
        changed = dataclasses.replace(obj, **{f.name: {**value, g.name: other}})
        assert identity(changed) != base, f"{where}.{f.name}.{g.name} does not reach the " \
                                          "spec hash"
    return 1


@pytest.mark.parametrize("kind,name", registered())
def test_every_parameter_of_every_component_reaches_the_hash_or_says_it_cannot(kind, name):
    assert assert_every_field_declared(instance(kind, name), f"{kind}.{name}") >= 0


@pytest.mark.parametrize("table", [Experiment, Costs])
def test_every_parameter_of_experiment_and_costs_reaches_the_hash_or_says_it_cannot(table):
    assert assert_every_field_declared(table(), table.__name__) == len(parameters(table))


def test_the_fields_declared_as_changing_no_result_are_these():
    """The exceptions, listed here only to be read: each one is out of the hash by its own
    declaration (a path whose data are fingerprinted, a cache, a name, how seeds are listed)."""
    out = {f"{kind}.{name}.{f.name}" for kind, name in registered()
           for f in parameters(registry_of(kind).get(name)) if not changes_results(f)}
    out |= {f"experiment.{f.name}" for f in parameters(Experiment) if not changes_results(f)}
    features_files = {f"dataset.{name}.features" for name in (
        "blobs", "breast_cancer", "circles", "csv", "digits", "fashion_mnist", "imagefolder",
        "iris", "npz", "text", "wine")}  # a features file: its data are in the fingerprint
    encoder_files = {"encoder.torchscript.path", "encoder.factory.weights",
                     "encoder.torchscript.cache_dir", "encoder.factory.cache_dir",
                     "encoder.efficientnet_lite0.cache_dir", "encoder.transformers.model",
                     "encoder.transformers.cache_dir",
                     "encoder.all_minilm_l6_v2.cache_dir"}  # files by sha256; a cache
    assert out == {"dataset.csv.path", "dataset.npz.path", "dataset.imagefolder.path",
                   "dataset.text.path",
                   *encoder_files,
                   "dataset.fashion_mnist.data_dir", "learner.pal.cache_dir",
                   "experiment.name", "experiment.seeds", "experiment.pool_step",
                   *features_files}


def test_late_fields_enter_only_when_set():
    late = [f for f in parameters(Experiment) if is_late(f)]
    assert {f.name for f in late} == {"initial", "initial_by", "initial_charged", "full_pool"}
    plain = identity(Experiment())
    assert not {f.name for f in late} & set(plain)
    assert identity(Experiment(initial=20))["initial"] == 20


def test_a_nested_components_defaults_reach_the_hash(monkeypatch):
    """Changing the default of the wrapped oracle's parameter changes the wrapper's hash: the
    hash holds the built oracle, not the table as written."""
    from palbench.oracles.noisy import Abstain, NoisyLabel

    wrapper = Abstain(base={"name": "noisy_label"})
    before = identity(wrapper)
    assert before["base"] == {"name": "noisy_label", "noise": 0.1}
    changed = dataclasses.make_dataclass("NoisyLabel", [("noise", float, 0.3)],
                                         bases=(NoisyLabel,), frozen=True)
    changed.registry_name = "noisy_label"  # the same oracle, its default changed
    oracles = registry_of("oracle")
    monkeypatch.setattr(oracles, "_items", {**oracles._items, "noisy_label": changed})
    assert identity(wrapper)["base"] == {"name": "noisy_label", "noise": 0.3}
    assert identity(wrapper) != before


CONFIGS = {  # hashes written by palbench before the declarations (the hand-kept lists)
    "plain": ('[experiment]\nseeds = [0, 1]\nbudgets = [6, 12]\nbatch_size = 3\n'
              '[dataset]\nname = "blobs"\nn_samples = 90\n[strategy]\nname = "margin"\n'
              '[learner]\nname = "sklearn"\n',
              "a5ec59e05194"),
    "knobs": ('[experiment]\nseeds = [0, 1]\nbudgets = [6, 12]\nbatch_size = 3\ninitial = 3\n'
              'initial_by = "per_class"\ninitial_charged = false\nfull_pool = true\n'
              'probe = false\nclosure = "none"\n[dataset]\nname = "wine"\nimbalance = 3.0\n'
              'stratify = false\n[strategy]\nname = "entropy"\n[oracle]\nname = "noisy_label"\n'
              'noise = 0.2\n[learner]\nname = "sklearn"\nprobabilities_from = '
              '"decision_function"\nestimator = "sklearn.svm.SVC"\n', "553b4c7e98e9"),
    "pairs": ('[experiment]\nseeds = [0, 1]\nbudgets = [6, 12]\nbatch_size = 3\n'
              '[dataset]\nname = "circles"\nn_samples = 80\n[strategy]\nname = "pal_active"\n'
              '[oracle]\nname = "noisy_pair"\nnoise = 0.1\n[learner]\nname = "kernel_pal"\n',
              "f81bbb14e10f"),
    "pool": ('[experiment]\nbatch_size = 3\nbudgets = { start = 20, stop = "pool", step = 40 }'
             '\nseeds = { start = 0, stop = 1 }\n[dataset]\nname = "iris"\nsplit_seed = "run"\n'
             '[strategy]\nname = "random"\n[learner]\nname = "sklearn"\n', "c04255055535"),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_stores_keep_their_hashes(name):
    text, start = CONFIGS[name]
    assert plan_from_raw(tomllib.loads(text)).cells[0].spec_hash()[:12] == start


def test_a_cells_spec_is_each_tables_identity():
    text, _ = CONFIGS["knobs"]
    cell = plan_from_raw(tomllib.loads(text)).cells[0]
    spec = cell.spec()
    assert spec["experiment"] == identity(cell.experiment)
    for section in ("strategy", "oracle", "costs", "learner"):
        entry = getattr(cell, section)
        assert spec[section] == {"name": entry.name, **identity(entry.obj)}
