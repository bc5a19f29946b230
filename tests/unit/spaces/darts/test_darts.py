"""The DARTS space: genotype notation, sampling and evolution operators, the super-net's two forwards, DARTS's
derivation, the table it ranks against, and training runs of SPOS, PC-DARTS and GDAS on it."""
import doctest
import json
import random

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import compose_config
from scipy import stats

from lrnas.benchmarks import GroundTruthError
from lrnas.spaces import build_supernet, darts, get_space, load_benchmark
from lrnas.spaces.darts import arch as darts_arch  # its private helpers
from lrnas.spaces.darts.supernet import DARTSSuperNet
from lrnas.train import train
from lrnas.validation import ConfigError, preflight

DARTS_V2 = darts.parse_arch(darts.EXAMPLE)


def archs(count, seed=0):
    rng, found = random.Random(seed), {}
    while len(found) < count:
        arch = darts.sample_arch(rng)
        found[darts.format_arch(arch)] = arch
    return list(found.values())


def test_docstring_examples_run():
    import lrnas.spaces.darts.supernet

    assert doctest.testmod(darts).failed == 0 and doctest.testmod(lrnas.spaces.darts.supernet).failed == 0


def test_genotype_notation_round_trips_and_is_canonical():
    for arch in archs(50):
        assert darts.parse_arch(darts.format_arch(arch)) == arch
        assert darts.from_nds_genotype(json.loads(json.dumps(darts.to_nds_genotype(arch)))) == arch
    # DARTS's own genotypes.py writes concat as range(2, 6) and lists a node's inputs in either order.
    text = darts.EXAMPLE.replace("normal_concat=[2, 3, 4, 5]", "normal_concat=range(2, 6)")
    swapped = text.replace("('sep_conv_3x3', 1), ('skip_connect', 0)", "('skip_connect', 0), ('sep_conv_3x3', 1)")
    assert swapped != text and darts.parse_arch(swapped) == darts.parse_arch(text) == DARTS_V2
    assert darts.format_arch(DARTS_V2).startswith("Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ")


@pytest.mark.parametrize("text, reason", [
    ("Genotype(normal=[('sep_conv_3x3', 0)])", "needs exactly the fields"),
    (darts.EXAMPLE.replace("('max_pool_3x3', 0)", "('conv_7x1', 0)", 1), "unknown op 'conv_7x1'; valid ops are none, "),
    (darts.EXAMPLE.replace("('dil_conv_3x3', 2)", "('dil_conv_3x3', 5)"), "reads state 5; node 5 can read states 0..4"),
    (darts.EXAMPLE.replace("reduce_concat=[2, 3, 4, 5]", "reduce_concat=[4, 5]"), "concatenates nodes"),
    ("Genotype(normal=[", "syntax error"),
    ("Genotype([], normal=[])", "field normal is given twice"),
    ("nor_conv_3x3", "must read Genotype("),
])
def test_malformed_genotypes_get_one_line_saying_why(text, reason):
    with pytest.raises(darts.InvalidArch, match=reason.replace("(", r"\(")) as error:
        darts.parse_arch(text)
    assert "\n" not in str(error.value)


def test_space_size_and_evolution_operators():
    # Count the distinct canonical forms of each node's two inputs (the cell's count is their product).
    per_node = []
    for i, node in enumerate(darts.NODES):
        items = [(op, source) for op in darts.OPS for source in range(node)]
        pairs = {darts_arch._canonical([*[("skip_connect", 0)] * (2 * i), a, b, *[("skip_connect", 0)] * (6 - 2 * i)])
                 for a in items for b in items}
        per_node.append(len(pairs))
    assert per_node == [105, 231, 406, 630]
    assert darts.NUM_CELLS == 105 * 231 * 406 * 630 and darts.NUM_ARCHS == darts.NUM_CELLS ** 2
    rng = random.Random(0)
    for parent in archs(30):
        child = darts.mutate(parent, rng, prob=0.0)  # prob 0 still changes one pair
        assert child != parent and darts.check_arch(child) == child
        assert darts.crossover(parent, parent, rng) == parent
    a, b = archs(2, seed=3)
    children = {darts.crossover(a, b, random.Random(s)) for s in range(40)}
    # Every child's nodes come whole from a parent.
    for child in children:
        for c in range(2):
            for i in range(0, 8, 2):
                assert child[c][i:i + 2] in (a[c][i:i + 2], b[c][i:i + 2])
    assert len(children) > 10


def test_fair_paths_use_every_op_once_per_slot_on_shared_inputs():
    paths = darts.fair_paths(random.Random(1))
    assert len(paths) == len(darts.OPS)
    for c in range(2):
        inputs = {tuple(sorted(source for _, source in path[c])) for path in paths}
        assert len(inputs) == 1  # one set of inputs, so each (cell, edge) op count is what decides fairness
        ops = sorted(op for path in paths for op, _ in path[c])
        assert ops == sorted(darts.OPS * 8)


def test_derivation_keeps_each_nodes_two_strongest_edges_and_their_best_non_none_op():
    probs = np.full((darts.NUM_EDGES, len(darts.RELAXED_OPS)), 0.01)
    probs[:, 0] = 0.9  # "none" strongest everywhere: DARTS ignores it
    want = {("normal", 2): [("sep_conv_3x3", 0), ("dil_conv_5x5", 1)], ("normal", 3): [("skip_connect", 0),
            ("max_pool_3x3", 2)], ("normal", 4): [("avg_pool_3x3", 1), ("sep_conv_5x5", 3)],
            ("normal", 5): [("dil_conv_3x3", 0), ("sep_conv_3x3", 4)]}
    for (_, node), pairs in list(want.items()):
        want[("reduce", node)] = pairs
        for weight, (op, source) in zip((0.5, 0.4), pairs, strict=True):
            for kind in ("normal", "reduce"):
                probs[darts.edge_index(kind, node, source), darts.RELAXED_OPS.index(op)] = weight
    derived = darts.derive_arch(probs)
    expected = darts_arch._canonical([pair for node in darts.NODES for pair in want[("normal", node)]])
    assert derived == (expected, expected)
    ranked = darts.most_probable(probs, 3)
    assert ranked[0][0] == derived and ranked[0][1] == pytest.approx(0.2 ** 8)
    assert [score for _, score in ranked] == sorted((score for _, score in ranked), reverse=True)
    assert len({arch for arch, _ in ranked}) == 3


def weights_of(arch, none_elsewhere=True):
    """Op weights that count how often each (edge, op) occurs in ``arch``; unused edges one-hot on ``none``."""
    weights = torch.zeros(darts.NUM_EDGES, len(darts.RELAXED_OPS), dtype=torch.float64)
    for kind, cell in zip(darts.CELL_TYPES, arch, strict=True):
        for i, (op, source) in enumerate(cell):
            weights[darts.edge_index(kind, darts.NODES[i // 2], source), darts.RELAXED_OPS.index(op)] += 1
    if none_elsewhere:
        weights[weights.sum(1) == 0, 0] = 1
    return weights.float()


@pytest.mark.parametrize("partial_channels", [1, 4])
def test_single_path_equals_the_full_relaxed_forward_with_one_hot_weights(partial_channels):
    torch.manual_seed(0)
    net = DARTSSuperNet(C=8, N=1, partial_channels=partial_channels)
    x = torch.randn(4, 3, 16, 16)
    repeated = tuple(darts_arch._canonical([("sep_conv_3x3", 0), ("skip_connect", 0)] * 4) for _ in range(2))
    for arch in [*archs(3), DARTS_V2, repeated]:  # repeated: both inputs of every node from state 0
        fast = net(x, arch)
        full = net.forward_mixed(x, weights_of(arch), partial_channels=partial_channels)
        torch.testing.assert_close(fast, full, rtol=1e-5, atol=1e-5)


def test_gdas_selected_forward_equals_the_single_path_and_uses_only_the_selected_weights():
    torch.manual_seed(0)
    net = DARTSSuperNet(C=4, N=1)
    x = torch.randn(4, 3, 16, 16)
    arch = DARTS_V2  # distinct inputs per node: one op per used edge
    weights = weights_of(arch).requires_grad_(True)
    selected = weights.argmax(1).tolist()
    out = net.forward_mixed(x, weights, selected=selected)
    torch.testing.assert_close(out, net(x, arch), rtol=1e-5, atol=1e-5)
    out.sum().backward()
    # Only the selected weight of each edge is used (GDAS's DARTS cell), unselected "none" edges included.
    used = torch.zeros_like(weights, dtype=torch.bool)
    used[range(len(selected)), selected] = True
    assert not weights.grad[~used].any() and weights.grad[used].any()


def test_path_parameters_are_exactly_those_a_single_path_trains():
    net = DARTSSuperNet(C=4, N=1)
    arch = archs(1)[0]
    net(torch.randn(4, 3, 16, 16), arch).sum().backward()
    trained = {id(p) for p in net.parameters() if p.grad is not None}
    assert trained == {id(p) for p in net.path_parameters(arch)}
    assert net.parameter_count(arch) < sum(p.numel() for p in net.parameters())
    assert build_supernet("darts", C=4, N=1).cells[1].kind == "reduce"  # 5 cells: reductions at 1 and 3


def test_a_per_slot_cell_shares_a_slots_ops_whatever_state_it_reads():
    """The authors' darts_nds SPOS cell (DartsSpaceCellSearch): one op set per slot, stride-2 copies in a reduction
    cell for the cell inputs; per edge, the same op reading another state is another module."""
    normal = tuple((op, source) for op, source in [("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("skip_connect", 0),
                                                   ("max_pool_3x3", 2), ("avg_pool_3x3", 0), ("dil_conv_3x3", 3),
                                                   ("sep_conv_5x5", 1), ("dil_conv_5x5", 4)])
    moved = normal[:3] + (("max_pool_3x3", 1),) + normal[4:]  # node 3's second slot reads state 1, not 2
    arch_a, arch_b = (normal, normal), (moved, normal)
    for cell_type, shared in (("per_slot", True), ("per_edge", False)):
        net = DARTSSuperNet(C=4, N=1, cell_type=cell_type)
        assert net(torch.randn(2, 3, 16, 16), arch_a).shape == (2, 10)
        first = net.cells[0]  # a normal cell
        assert (first.path_modules(arch_a[0])[-5] is first.path_modules(arch_b[0])[-5]) == shared
    slots = DARTSSuperNet(C=4, N=1, cell_type="per_slot")
    slots(torch.randn(2, 3, 16, 16), arch_a).sum().backward()
    assert {id(p) for p in slots.parameters() if p.grad is not None} == {id(p) for p in slots.path_parameters(arch_a)}
    assert len(DARTSSuperNet(C=4, N=1, layers=12).cells) == 12


def test_the_per_slot_cell_trains_with_sampling_algorithms_only(tmp_path):
    from lrnas.validation import validate_config

    with pytest.raises(ConfigError, match=r"^space.supernet.cell_type='per_slot' is invalid: must be per_edge with "
                                          r"algorithm=gdas"):
        validate_config(run_config(tmp_path, "space.supernet.cell_type=per_slot", "algorithm=gdas"))
    cfg = run_config(tmp_path, "space.supernet.cell_type=per_slot", "space.sample_from_table=true")
    final = train(cfg, tmp_path / "run")
    scored = pd.read_csv(tmp_path / "run/archs.csv")
    assert final["kendall_tau"] == pytest.approx(stats.kendalltau(scored["supernet_acc_epoch1"],
                                                                  scored["ground_truth"])[0])


def test_an_evaluation_of_every_arch_scores_the_table_but_the_landmarks(tmp_path):
    final = train(run_config(tmp_path, "landmarks=random", "landmarks.num_landmarks=8", "regularizer=landmark",
                             "regularizer.warmup_epochs=0", "eval.num_archs=all"), tmp_path / "run")
    scored, landmarks = pd.read_csv(tmp_path / "run/archs.csv"), pd.read_csv(tmp_path / "run/landmarks.csv")
    assert len(scored) == 24 - 8 and set(scored["arch"]) | set(landmarks["arch"]) == set(pd.read_csv(
        tmp_path / "table.csv")["arch"])
    assert final["sample_size"] == 16
    with pytest.raises(ConfigError, match=r"^eval.unique=true is invalid: must be false with space=darts"):
        from lrnas.validation import validate_config
        validate_config(run_config(tmp_path, "eval.unique=true"))


def test_sample_from_table_trains_only_the_tables_archs(tmp_path):
    from lrnas.spaces import training_space

    table = load_benchmark("darts", str(write_table(tmp_path / "table.csv", 6)))
    space = get_space("darts")
    assert training_space(space, {"sample_from_table": False}, table) is space
    sampled = training_space(space, {"sample_from_table": True}, table)
    rng = random.Random(0)
    drawn = {darts.format_arch(sampled.sample_arch(rng)) for _ in range(200)}
    assert drawn == set(table.archs) and sampled.parse_arch is space.parse_arch


def write_table(path, count, seed=0):
    rng = np.random.default_rng(seed)
    rows = [{"arch": darts.format_arch(a), "accuracy": float(rng.uniform(80, 95)), "params_m": float(rng.uniform(2, 4)),
             "recipe": "fixture", "epochs": 3} for a in archs(count, seed)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_a_landmark_file_is_a_ground_truth_table(tmp_path):
    path = write_table(tmp_path / "landmarks.csv", 12)
    table = load_benchmark("darts", str(path))
    frame = pd.read_csv(path)
    assert table.archs == frame["arch"].tolist() and table.training_epochs("cifar10_test") == 3
    np.testing.assert_allclose(table.accuracies(frame["arch"][::-1]), frame["accuracy"][::-1])
    assert load_benchmark("darts", None) is None
    with pytest.raises(GroundTruthError, match="does not hold"):
        table.index_of(darts.format_arch(archs(13)[-1]))
    frame.loc[3, "accuracy"] = 140
    frame.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(GroundTruthError, match=r"bad.csv:5: cifar10_test=140.0 must be an accuracy"):
        load_benchmark("darts", str(tmp_path / "bad.csv"))


def test_config_rules_come_from_the_space(tmp_path):
    table = str(write_table(tmp_path / "t.csv", 30))
    with pytest.raises(ConfigError, match="space.table=null is invalid: must be a ground-truth table with space=darts"):
        preflight(["space=darts"])
    with pytest.raises(ConfigError, match="space.supernet.partial_channels=2 is invalid: must be 4"):
        preflight(["space=darts", f"space.table={table}", "algorithm=pcdarts", "space.supernet.partial_channels=2"])
    with pytest.raises(ConfigError, match="space.channels=12 is invalid: must be a multiple of 8"):
        preflight(["space=darts", f"space.table={table}", "algorithm=pcdarts", "space.channels=12"])
    with pytest.raises(ConfigError, match="landmarks='hamming' is invalid"):
        preflight(["space=darts", f"space.table={table}", "landmarks=hamming"])
    with pytest.raises(ConfigError, match="algorithm='gdas' is invalid: must be one of fairnas, spos with space=nb101"):
        preflight(["space=nb101", "algorithm=gdas"])
    assert preflight(["space=darts", f"space.table={table}", "algorithm=pcdarts", "landmarks=random",
                      "landmarks.num_landmarks=10", "eval.num_archs=20"]) == 1
    assert preflight(["experiment=cpu_darts", f"space.table={table}"]) == 1  # 10 landmarks + 20 ranked = 30 rows
    assert get_space("darts").SUPERNET.endswith("DARTSSuperNet")


def run_config(tmp_path, *overrides):
    return compose_config(
        "experiment=smoke", "space=darts", f"space.table={write_table(tmp_path / 'table.csv', 24)}",
        f"data.cache_dir={tmp_path / 'cache'}", "data.synthetic.train=64", "data.synthetic.test=32",
        "trainer.epochs=1", "trainer.batch_size=16", "eval.at_epochs=[1]", "eval.num_archs=8", "eval.top_k=4",
        "eval.num_test_images=32", "eval.batch_size=32", "search.candidates=4", "search.top_k=2",
        "search.num_images=16", *overrides)


def test_spos_with_landmarks_from_a_file_reports_held_out_tau_and_a_genotype(tmp_path):
    cfg = run_config(tmp_path, "landmarks=random", "landmarks.num_landmarks=8", "regularizer=landmark",
                     "regularizer.warmup_epochs=0", "search=random")
    train(cfg, tmp_path / "run")
    run = tmp_path / "run"
    metrics = json.loads((run / "metrics.json").read_text())
    table, scored = pd.read_csv(tmp_path / "table.csv"), pd.read_csv(run / "archs.csv")
    landmarks = pd.read_csv(run / "landmarks.csv")
    assert len(landmarks) == 8 and not set(landmarks["arch"]) & set(scored["arch"])  # held out from the landmarks
    assert set(scored["arch"]) | set(landmarks["arch"]) <= set(table["arch"])
    truth = table.set_index("arch").loc[scored["arch"]]
    final = metrics["final"]
    assert final["kendall_tau"] == pytest.approx(stats.kendalltau(scored["supernet_acc_epoch1"], truth["accuracy"])[0])
    assert final["param_count_kendall_tau"] == pytest.approx(stats.kendalltau(truth["params_m"], truth["accuracy"])[0])
    assert final["landmark_lambda"] > 0 and metrics["eval_sample"]["table"] == str(tmp_path / "table.csv")
    assert darts.parse_arch(metrics["search"]["arch"])  # DARTS notation, ready for DARTS's train.py


@pytest.mark.parametrize("algorithm, channels", [("pcdarts", 8), ("gdas", 4)])
def test_differentiable_algorithms_search_the_darts_relaxation(tmp_path, algorithm, channels):
    cfg = run_config(tmp_path, f"algorithm={algorithm}", f"space.channels={channels}",
                     *(["algorithm.warmup_fraction=0"] if algorithm == "pcdarts" else []))
    train(cfg, tmp_path / "run")
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    derived = darts.parse_arch(metrics["final"]["argmax_arch"])
    assert metrics["search"]["arch"] == darts.format_arch(derived)
    assert metrics["final"]["phase"] == "search" and metrics["final"]["kendall_tau"] is not None


def written_swapped(arch) -> str:
    """``arch`` in DARTS notation with each node's two inputs in the other order: a valid, non-canonical string."""
    cells = [[pair for i in range(0, 8, 2) for pair in reversed(cell[i:i + 2])] for cell in arch]
    return (f"Genotype(normal={cells[0]!r}, normal_concat=[2, 3, 4, 5], reduce={cells[1]!r}, "
            "reduce_concat=[2, 3, 4, 5])")


def test_file_landmarks_written_another_way_are_the_tables_architectures(tmp_path):
    from lrnas.landmarks import LandmarkFileError, choose_landmarks

    table = load_benchmark("darts", str(write_table(tmp_path / "table.csv", 30)))
    chosen = [darts.parse_arch(arch) for arch in table.archs[:3]]
    assert all(written_swapped(arch) not in table.archs for arch in chosen)
    path = tmp_path / "landmarks.csv"
    frame = pd.DataFrame({"arch": [written_swapped(a) for a in chosen], "accuracy": [70.0, 60.0, 80.0]})
    frame.to_csv(path, index=False)
    cfg = compose_config("space=darts", "landmarks=file", f"landmarks.path={path}")
    landmarks = choose_landmarks(cfg, table, darts, reserved=set())
    # Under the table's strings, worst to best: so the evaluation sample (which compares strings) leaves them out.
    assert [lm.arch for lm in landmarks] == [table.archs[i] for i in (1, 0, 2)]
    twice = pd.DataFrame({"arch": [written_swapped(chosen[0]), table.archs[0]], "accuracy": [1.0, 2.0]})
    twice.to_csv(path, index=False)
    with pytest.raises(LandmarkFileError, match="listed more than once"):
        choose_landmarks(cfg, table, darts, reserved=set())
