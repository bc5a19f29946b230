"""`lrnas report --out`: the paper's table (md, csv, tex) with mean, std, 95% CI and n, the runs left out, and plots."""
import json
import math

import pandas as pd
import pytest
from omegaconf import OmegaConf
from scipy.stats import kendalltau

from lrnas.reporting.budget import budget_points, cheap_reference
from lrnas.reporting.paper_table import (
    describe_methods,
    describe_statistics,
    method_labels,
    paper_summary,
    to_latex,
    to_markdown,
)
from lrnas.reporting.plots import ablation, budget_figure, labelled_history, method_styles, pyplot, scatter, tau_vs_epoch
from lrnas.reporting.runs import collect_runs
from lrnas.reporting.statistics import interval
from lrnas.reporting.write import write_report

HISTORY_TAUS = {0: [0.0, 0.1], 1: [0.1, 0.2], 2: [0.2, 0.6]}  # seed -> tau at epochs 1, 2 (spos, no landmarks)


def write_run(folder, seed, taus, algorithm="spos", regularizer="none", space="nb201", lam=10.0, num_landmarks=30,
              finished=True, log="", accuracy=None, final_scores=(20.0, 24.0, 22.0, 26.0), archs="abcd", epochs=None,
              evaluated=None, epoch_s=60.0, eval_s=30.0, top_k=10, pool_tau=None):
    """A run folder as `lrnas train` writes it: config.yaml, metrics.json with a history of evaluations, archs.csv
    (``final_scores``: the super-net accuracies of ``archs`` at the last evaluation; ``accuracy``: their mean as
    metrics.json records it, 30 + seed unless given; ``epochs``: trainer.epochs, when the test needs it; ``evaluated``:
    the epochs with an evaluation, taking the ``taus`` in order (default: 1, 2, ...), each epoch taking ``epoch_s``
    seconds to train and each evaluation ``eval_s``; ``top_k``: eval.top_k, which names the top-K metrics;
    ``pool_tau``: the tau on the authors' alpha pool, eval.pool=alpha_refresh)."""
    folder.mkdir(parents=True)
    algo = {"name": algorithm, **({"tau_max": 10.0} if algorithm == "gdas" else {})}  # a key only GDAS has
    cfg = {"seed": seed, "space": {"name": space, "ground_truth": "cifar10_test"}, "algorithm": algo,
           "landmarks": {"method": "random" if regularizer == "landmark" else "none",
                         "num_landmarks": num_landmarks if regularizer == "landmark" else None},
           "regularizer": {"name": regularizer, "lam": lam if regularizer == "landmark" else None},
           "eval": {"num_test_images": 500, "top_k": top_k}, **({"trainer": {"epochs": epochs}} if epochs else {})}
    OmegaConf.save(OmegaConf.create(cfg), folder / "config.yaml")
    history = [{"epoch": epoch, "sample_size": 4, "kendall_tau": tau, "param_count_kendall_tau": 0.6,
                "sparse_kendall_tau": tau / 2, "param_count_sparse_kendall_tau": 0.5, "spearman_rho": tau,
                "param_count_spearman_rho": 0.7,
                "mean_supernet_accuracy": 30.0 + seed if accuracy is None else accuracy,
                f"top{top_k}_mean_ground_truth": 90.0 + seed, f"p_surpass_random_top{top_k}": 0.5,
                "landmark_lambda": lam * (epoch - 1) if regularizer == "landmark" else None,
                "landmark_violation_rate": 0.5 / epoch if regularizer == "landmark" else None,
                **({"pool_kendall_tau": pool_tau} if pool_tau is not None else {})}
               for epoch, tau in zip(evaluated or range(1, len(taus) + 1), taus, strict=True)]
    for number, row in enumerate(history, start=1):
        row.update(elapsed_s=row["epoch"] * epoch_s + number * eval_s, eval_s=eval_s)
    (folder / "metrics.json").write_text(json.dumps({"final": history[-1] if finished else None, "history": history,
                                                     "search": {"ground_truth": 93.0, "percentile": 90.0}}))
    truth = {"a": 80.0, "b": 85.0, "c": 90.0, "d": 93.0, "e": 94.0}
    pd.DataFrame({"arch": list(archs), "ground_truth": [truth[a] for a in archs],
                  "params_m": [0.1 * (i + 1) for i in range(len(archs))],
                  **{f"supernet_acc_epoch{epoch}": [score / (len(taus) - epoch + 1) for score in final_scores]
                     for epoch in range(1, len(taus) + 1)}}).to_csv(folder / "archs.csv", index=False)
    if regularizer == "landmark":
        pd.DataFrame({"epoch": [1, 1, 2, 2, 2], "arch": list("xyxyz"), "ground_truth": [70.0, 95.0, 70.0, 95.0, 88.0],
                      "supernet_acc": [9.0, 9.5, 15.0, 30.0, 25.0]}).to_csv(folder / "landmark_scores.csv", index=False)
    (folder / "train.log").write_text(log)


@pytest.fixture
def table_runs(tmp_path):
    """SPOS and GDAS, each without and with landmarks, 3 seeds each, on NB201; GDAS without landmarks also on NB101."""
    for seed, taus in HISTORY_TAUS.items():
        write_run(tmp_path / f"spos/{seed}", seed, taus)
        write_run(tmp_path / f"spos_lm/{seed}", seed, [t + 0.3 for t in taus], regularizer="landmark")
        write_run(tmp_path / f"gdas/{seed}", seed, [t - 0.1 for t in taus], algorithm="gdas")
        write_run(tmp_path / f"gdas_lm/{seed}", seed, [t + 0.2 for t in taus], algorithm="gdas", regularizer="landmark")
    write_run(tmp_path / "nb101_gdas/0", 0, [0.4, 0.5], algorithm="gdas", space="nb101", top_k=5)
    return tmp_path


def test_rows_are_methods_named_by_algorithm_and_landmarks_never_by_keys_an_algorithm_implies(table_runs):
    summary = paper_summary(collect_runs(table_runs))
    assert sorted(zip(summary["space"], summary["method"], summary["n"], strict=True)) == [
        ("nb101", "gdas", 1), ("nb201", "gdas", 3), ("nb201", "gdas + 30 random landmarks", 3),
        ("nb201", "spos", 3), ("nb201", "spos + 30 random landmarks", 3)]


def test_mean_std_and_intervals_are_those_of_the_seeds(table_runs):
    row = paper_summary(collect_runs(table_runs)).set_index(["space", "method"]).loc[("nb201", "spos")]
    assert row["kendall_tau_mean"] == pytest.approx(0.3)  # final taus 0.1, 0.2, 0.6: std sqrt(0.07)
    assert row["kendall_tau_std"] == pytest.approx(math.sqrt(0.07))
    # a rank correlation's interval: Student's t on Fisher's z, mapped back; t(0.975, 2 degrees of freedom) = 4.302653
    z = [math.atanh(tau) for tau in (0.1, 0.2, 0.6)]
    z_mean = sum(z) / 3
    half = 4.302653 * math.sqrt(sum((v - z_mean) ** 2 for v in z) / 2) / math.sqrt(3)
    assert row["kendall_tau_ci_low"] == pytest.approx(math.tanh(z_mean - half), rel=1e-6)
    assert row["kendall_tau_ci_high"] == pytest.approx(math.tanh(z_mean + half), rel=1e-6)
    # an accuracy's interval: Student's t on the values (30, 31, 32)
    assert row["mean_supernet_accuracy_mean"] == pytest.approx(31.0) and row["mean_supernet_accuracy_std"] == 1.0
    assert row["mean_supernet_accuracy_ci_low"] == pytest.approx(31.0 - 4.302653 / math.sqrt(3), rel=1e-6)


def test_markdown_shows_mean_std_the_baseline_beside_each_rank_correlation_and_the_interval(table_runs):
    text = to_markdown(paper_summary(collect_runs(table_runs)))
    spos = next(line for line in text.splitlines() if line.startswith("| spos |"))
    cells = [c.strip() for c in spos.strip("|").split("|")]
    assert cells == ["spos", "3", "31.00 ± 1.00", "0.300 ± 0.265 (0.600)", "[-0.426, 0.807]", "-", "0.667 (3 runs, "
                     "< 40% acc: their table skips it)", "0.150 ± 0.132 (0.500)", "0.300 ± 0.265 (0.700)",
                     "0.500 ± 0.000", "91.00 ± 1.00"]
    nb101 = next(line for line in text.splitlines() if line.startswith("| gdas |") and "| 1 |" in line)
    assert "0.500 (0.600)" in nb101 and "| - |" in nb101  # one seed: no std, no interval
    # NB101's runs use the authors' top-5 (eval.top_k=5): their P>random and final perf are shown, not "-"
    assert nb101.rstrip(" |").endswith("| 0.500 | 90.00")


def test_the_tau_on_the_authors_alpha_pool_stands_beside_the_fixed_samples(tmp_path):
    for seed in (0, 1):
        write_run(tmp_path / f"gdas/{seed}", seed, [0.3], algorithm="gdas", pool_tau=0.1 + 0.1 * seed)
        write_run(tmp_path / f"spos/{seed}", seed, [0.3])
    lines = to_markdown(paper_summary(collect_runs(tmp_path))).splitlines()
    header = [cell.strip() for cell in lines[2].strip("|").split("|")]
    column = header.index("τ-b on the authors' α pool")
    gdas, spos = ([cell.strip() for cell in line.strip("|").split("|")] for line in lines[4:6])
    assert (gdas[0], gdas[column], spos[column]) == ("gdas", "0.150 ± 0.071", "-")


def test_a_fairnas_landmark_row_is_said_to_be_lrnas_composition(tmp_path, table_runs):
    assert describe_methods(paper_summary(collect_runs(table_runs))) == ""  # SPOS and GDAS: the authors' procedures
    for seed in (0, 1):
        write_run(tmp_path / f"fairnas_lm/{seed}", seed, [0.3], algorithm="fairnas", regularizer="landmark")
    note = describe_methods(paper_summary(collect_runs(tmp_path / "fairnas_lm")))
    assert note.startswith("FairNAS with landmarks is lrnas's composition") and "fairnas_procedure.py:9-79" in note


def test_latex_has_a_column_group_per_space_and_dashes_where_a_method_was_not_run(table_runs):
    tex = to_latex(paper_summary(collect_runs(table_runs)))
    assert r"\multicolumn{7}{c}{nb201} & \multicolumn{7}{c}{nb101} \\" in tex
    assert r"\cmidrule(lr){2-8}\cmidrule(lr){9-15}" in tex
    spos = next(line for line in tex.splitlines() if line.startswith("spos &"))
    assert spos == (r"spos & 3 & 31.00$\pm$1.00 & 0.300$\pm$0.265 (0.600) & 0.150$\pm$0.132 (0.500) & "
                    r"0.300$\pm$0.265 (0.700) & 0.500$\pm$0.000 & 91.00$\pm$1.00 & " + " & ".join(["-"] * 7) + r" \\")


def test_an_ablated_key_names_the_row(tmp_path):
    for lam in (1.0, 40.0):
        for seed in (0, 1):
            write_run(tmp_path / f"lam{lam}/{seed}", seed, [0.1 * seed + lam / 100], regularizer="landmark", lam=lam)
    runs = collect_runs(tmp_path)
    assert sorted(set(method_labels(runs)["method"])) == ["spos + 30 random landmarks, regularizer.lam=1.0",
                                                          "spos + 30 random landmarks, regularizer.lam=40.0"]


def test_runs_left_out_are_listed_in_the_report_and_never_counted(table_runs, tmp_path):
    sweep = table_runs / "sweep"
    write_run(sweep / "0", 0, [0.9, 0.9], algorithm="fairnas")
    write_run(sweep / "1", 1, [0.9], algorithm="fairnas", finished=False,
              log="[2026-12-01 10:00:00,000][lrnas.train][ERROR] - stopped by SIGTERM at epoch 2, step 3; checkpoint "
                  "saved. Resume with: lrnas train resume=/another/machine/sweep/1\n")
    write_run(sweep / "2", 2, [0.9], algorithm="fairnas", finished=False,
              log="[2026-12-01 10:00:00,000][lrnas.train][ERROR] - error: non-finite loss at epoch 2\n")
    (sweep / "3/.hydra").mkdir(parents=True)  # a job that started and wrote nothing yet
    OmegaConf.save(OmegaConf.create({"hydra": {
        "sweeper": {"_target_": "hydra._internal.core_plugins.basic_sweeper.BasicSweeper", "params": {"seed": "0,1"}},
        "sweep": {"subdir": "${hydra.job.num}"},
        "overrides": {"task": ["algorithm=fairnas", "seed=0,1,2,3,4"]}}}), sweep / "multirun.yaml")
    runs = collect_runs(table_runs)
    assert [str(entry) for entry in runs.left_out] == [
        f"unfinished: {sweep / '1'}: trained through epoch 1; stopped by SIGTERM at epoch 2, step 3; checkpoint saved. "
        f"Resume with: lrnas train resume={sweep / '1'}",  # the folder as read here, not as the machine that ran it
        f"failed: {sweep / '2'}: error: non-finite loss at epoch 2",
        f"unfinished: {sweep / '3'}: no epoch done (still running, or killed)",
        f"missing: {sweep / '4'}: job 4 (seed=4 algorithm=fairnas) has no folder: not started (the sweep stopped "
        "before it, or is still running)"]
    summary = paper_summary(runs).set_index("method")
    assert summary.loc["fairnas", "n"] == 1  # only the finished one
    written = write_report(runs, tmp_path / "report", "lrnas report x")
    report = (tmp_path / "report/report.md").read_text()
    for entry in runs.left_out:
        assert f"- {entry}" in report
    assert {path.name for path in written} >= {"report.md", "report.csv", "report.tex", "runs.csv", "history.csv",
                                               "tau_vs_epoch.png", "tau_vs_epoch.pdf", "scatter.png", "scatter.pdf",
                                               "regularizer.png", "regularizer.pdf"}
    assert all(path.stat().st_size > 0 for path in written)
    csv = pd.read_csv(tmp_path / "report/report.csv").set_index(["space", "method"])
    assert csv.loc[("nb201", "spos"), "kendall_tau_ci_high"] == pytest.approx(0.807, abs=5e-4)


def test_tau_curve_is_the_seed_mean_per_epoch_with_the_baseline(table_runs):
    runs = collect_runs(table_runs)
    labels = method_labels(runs)
    figure = tau_vs_epoch(pyplot(), labelled_history(runs, labels), runs, method_styles(labels))
    nb201 = figure.axes[0]
    curves = {line.get_label(): list(line.get_ydata()) for line in nb201.get_lines()}
    assert curves["spos (n=3)"] == pytest.approx([0.1, 0.3])  # epoch 1: 0, .1, .2; epoch 2: .1, .2, .6
    assert curves["parameter count (0.600)"] == pytest.approx([0.6, 0.6])
    assert "4 held-out archs" in nb201.get_title()


def test_scatter_draws_each_methods_held_out_archs_and_its_landmarks_at_the_last_evaluation(table_runs):
    runs = collect_runs(table_runs)
    figure = scatter(pyplot(), runs, method_labels(runs))
    panels = {axis.get_title().split("\n")[0]: axis for axis in figure.axes if axis.get_visible()}
    landmark = panels["nb201: spos + 30 random landmarks"]
    held_out, landmarks = (collection.get_offsets() for collection in landmark.collections)
    assert held_out.tolist() == [[80.0, 20.0], [85.0, 24.0], [90.0, 22.0], [93.0, 26.0]]  # epoch 2 column
    assert landmarks.tolist() == [[70.0, 15.0], [95.0, 30.0], [88.0, 25.0]]  # landmark_scores.csv, epoch 2 only
    assert len(panels["nb201: spos"].collections) == 1


def test_without_matplotlib_the_tables_are_written_and_the_report_says_how_to_get_plots(table_runs, tmp_path,
                                                                                          monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    written = write_report(collect_runs(table_runs), tmp_path / "out", "lrnas report x")
    assert [path.name for path in written] == ["report.md", "report.csv", "report.tex", "runs.csv", "history.csv"]
    assert "plots need matplotlib: pip install 'lrnas[plots]'" in (tmp_path / "out/report.md").read_text()
    assert not list((tmp_path / "out").glob("*.png"))


def test_ablation_curve_averages_seeds_per_value_and_never_across_another_ablated_key(tmp_path):
    """Penalty x β as the two penalty sweeps give them: hinge (β at its default 1) must not join softplus β=1."""
    taus = {("hinge", 1.0): [0.9, 0.7], ("softplus", 1.0): [0.1, 0.3], ("softplus", 3.0): [0.2, 0.6]}
    for (penalty, beta), seeds in taus.items():
        for seed, tau in enumerate(seeds):
            write_run(tmp_path / f"{penalty}{beta}/{seed}", seed, [tau], regularizer="landmark")
            config = OmegaConf.load(tmp_path / f"{penalty}{beta}/{seed}/config.yaml")
            config.regularizer.penalty, config.regularizer.beta = penalty, beta
            OmegaConf.save(config, tmp_path / f"{penalty}{beta}/{seed}/config.yaml")
    figure = ablation(pyplot(), collect_runs(tmp_path))
    beta_axis = next(axis for axis in figure.axes if axis.get_xlabel() == "regularizer.beta")
    lines = {container.get_label(): list(container.lines[0].get_ydata()) for container in beta_axis.containers}
    assert lines == {"nb201 spos landmark regularizer.penalty=hinge (n=2)": pytest.approx([0.8]),
                     "nb201 spos landmark regularizer.penalty=softplus (n=2)": pytest.approx([0.2, 0.4])}


def test_a_run_folder_copied_elsewhere_counts_once(table_runs, tmp_path):
    import shutil

    shutil.copytree(table_runs / "spos", tmp_path / "copy" / "spos")
    runs = collect_runs(table_runs, tmp_path / "copy")
    assert paper_summary(runs).set_index(["space", "method"]).loc[("nb201", "spos"), "n"] == 3
    assert sorted(entry.status for entry in runs.left_out) == ["duplicate"] * 3


def test_without_landmarks_comes_first_whichever_folder_sorts_first_and_runs_without_history_report(tmp_path):
    write_run(tmp_path / "a_landmarks/0", 0, [0.5], regularizer="landmark")
    write_run(tmp_path / "b_plain/0", 0, [0.1])
    for metrics in tmp_path.rglob("metrics.json"):  # a run from before per-epoch histories
        document = json.loads(metrics.read_text())
        metrics.write_text(json.dumps({**document, "history": []}))
    runs = collect_runs(tmp_path)
    assert list(paper_summary(runs)["method"]) == ["spos", "spos + 30 random landmarks"]
    written = {path.name for path in write_report(runs, tmp_path / "out", "lrnas report x")}
    assert "tau_vs_epoch.png" not in written and "scatter.png" in written


def test_landmark_files_name_their_rows_and_a_plain_run_has_no_landmark_keys(tmp_path):
    write_run(tmp_path / "plain/0", 0, [0.1])
    for folder in ("built-200ep", "built-12ep"):  # two builds' landmarks.csv: the same file name
        write_run(tmp_path / f"{folder}/0", 0, [0.3], regularizer="landmark")
        cfg = OmegaConf.load(tmp_path / f"{folder}/0/config.yaml")
        cfg.landmarks = {"method": "file", "num_landmarks": None, "path": f"outputs/landmarks/{folder}/landmarks.csv"}
        OmegaConf.save(cfg, tmp_path / f"{folder}/0/config.yaml")
    runs = collect_runs(tmp_path)
    summary = paper_summary(runs)
    assert list(summary["method"]) == ["spos", "spos + landmarks from built-12ep/landmarks.csv",
                                       "spos + landmarks from built-200ep/landmarks.csv"]
    axis = next(axis for axis in ablation(pyplot(), runs).axes if axis.get_xlabel() == "landmarks.path")
    assert sorted(label.get_text() for label in axis.get_xticklabels()) == ["built-12ep", "built-200ep", "not set"]


def test_latex_escapes_every_special_character_of_a_label():
    from lrnas.reporting.paper_table import latex_escape

    assert latex_escape(r"a_b~c^d\e&f%g$h#i{j}") == (r"a\_b\textasciitilde{}c\textasciicircum{}d\textbackslash{}e\&f\%g"
                                                    r"\$h\#i\{j\}")


def test_a_rank_correlation_interval_stays_within_bounds_where_student_t_would_cross_one():
    taus = [0.80, 0.95, 0.99]
    mean, std = sum(taus) / 3, pd.Series(taus).std()
    assert mean + 4.302653 * std / math.sqrt(3) > 1  # what a t-interval on the taus themselves would print
    z = [math.atanh(t) for t in taus]
    z_mean, z_std = sum(z) / 3, pd.Series(z).std()
    low, high = interval(taus, correlation=True)
    assert low == pytest.approx(math.tanh(z_mean - 4.302653 * z_std / math.sqrt(3)), abs=1e-6)
    assert high == pytest.approx(math.tanh(z_mean + 4.302653 * z_std / math.sqrt(3)), abs=1e-6)
    assert -1 < low < high < 1
    assert interval([1.0, 1.0, 0.9], correlation=True)[1] <= 1.0  # a perfect seed does not break it


def test_two_seeds_get_no_interval_and_the_report_says_why(tmp_path):
    for seed in (0, 1):
        write_run(tmp_path / f"spos/{seed}", seed, [0.1, 0.2 + seed])
    assert interval([0.2, 0.3], correlation=True) is None and interval([0.2, 0.3], correlation=False) is None
    summary = paper_summary(collect_runs(tmp_path))
    row = next(line for line in to_markdown(summary).splitlines() if line.startswith("| spos |"))
    assert row.split(" | ")[4] == "-"  # the τ-b 95% CI cell
    assert "none is given below 3 seeds" in describe_statistics(summary)


def test_paired_gain_is_the_mean_per_seed_difference_with_its_student_t_interval(tmp_path):
    plain, landmarks = [0.1, 0.2, 0.6], [0.25, 0.3, 0.65]  # gains 0.15, 0.10, 0.05: mean 0.1, std 0.05
    for seed in range(3):
        write_run(tmp_path / f"spos/{seed}", seed, [plain[seed]])
        write_run(tmp_path / f"spos_lm/{seed}", seed, [landmarks[seed]], regularizer="landmark")
        write_run(tmp_path / f"gdas/{seed}", seed, [0.0], algorithm="gdas")  # not spos's twin
    write_run(tmp_path / "spos_lm/3", 3, [0.9], regularizer="landmark")  # seed 3 has no plain run: no pair
    write_run(tmp_path / "gdas_lm/0", 0, [0.5], algorithm="gdas", regularizer="landmark")
    summary = paper_summary(collect_runs(tmp_path)).set_index("method")
    spos = summary.loc["spos + 30 random landmarks"]
    assert spos["n"] == 4 and spos["pairs"] == 3 and spos["reference"] == "spos" and spos["seeds"] == "0, 1, 2"
    half = 4.302653 * 0.05 / math.sqrt(3)
    assert spos["gain_mean"] == pytest.approx(0.1)
    assert (spos["gain_ci_low"], spos["gain_ci_high"]) == pytest.approx((0.1 - half, 0.1 + half), rel=1e-6)
    gdas = summary.loc["gdas + 30 random landmarks"]
    assert gdas["gain_mean"] == pytest.approx(0.5) and gdas["pairs"] == 1 and pd.isna(gdas["gain_ci_low"])
    assert pd.isna(summary.loc["spos", "gain_mean"])  # plain rows have no gain
    text = to_markdown(summary.reset_index())
    assert "| +0.100 [-0.024, +0.224] (3 pairs) |" in text and "| +0.500 (1 pair) |" in text


def test_pooled_tau_averages_each_arch_over_seeds_after_dropping_runs_below_15_percent(tmp_path):
    write_run(tmp_path / "spos/0", 0, [0.3], archs="abcd", final_scores=(1.0, 2.0, 3.0, 4.0))
    write_run(tmp_path / "spos/1", 1, [0.3], archs="abce", final_scores=(2.0, 1.0, 4.0, 5.0))
    # below the authors' 15%: its reversed ranking would pull the pooled tau down if it were kept
    write_run(tmp_path / "spos/2", 2, [0.3], archs="abcd", final_scores=(40.0, 30.0, 20.0, 10.0), accuracy=10.0)
    runs = collect_runs(tmp_path)
    row = paper_summary(runs).iloc[0]
    # per arch: a 1.5, b 1.5, c 3.5, d 4, e 5 against 80, 85, 90, 93, 94: 9 concordant pairs, 1 tied in the scores
    assert row["pooled_kendall_tau"] == pytest.approx(9 / math.sqrt(9 * 10))
    assert row["pooled_runs"] == 2 and row["pooled_archs"] == 5 and row["n"] == 3
    assert row["dropped_runs"] == f"{tmp_path / 'spos/2'} (seed 2: mean super-net acc 10.0%)"
    assert row["pooled_mean_accuracy"] == pytest.approx(3.1) and row["authors_skip"]
    write_report(runs, tmp_path / "report", "lrnas report x")
    report = (tmp_path / "report/report.md").read_text()
    assert f"- {tmp_path / 'spos/2'} (seed 2: mean super-net acc 10.0%)" in report
    assert "| 0.949 (2 runs, < 40% acc: their table skips it) |" in report


def test_a_budget_study_separates_end_of_run_from_mid_run_points_and_times_training_only(tmp_path):
    from lrnas.spaces.nb201.benchmark import load_nb201

    nb201 = load_nb201()
    archs = nb201.archs[:6]
    for seed in (0, 1):
        write_run(tmp_path / f"short/{seed}", seed, [-0.2, 0.1 + seed / 10], epochs=2)
        write_run(tmp_path / f"long/{seed}", seed, [-0.3, 0.0, 0.3 + seed / 10], epochs=4, evaluated=[1, 2, 4],
                  epoch_s=30.0 + seed * 6)
        write_run(tmp_path / f"long_lm/{seed}", seed, [-0.1, 0.2, 0.5][seed:], epochs=4, evaluated=[1, 2, 4][seed:],
                  regularizer="landmark")  # seed 1 skips the evaluation at epoch 1
    for folder in tmp_path.glob("*/*"):  # real NB201 cells, for the 12-epoch reference
        pd.DataFrame({"arch": archs, "ground_truth": nb201.accuracies(archs), "params_m": nb201.params(archs),
                      "supernet_acc_epoch2": range(6), "supernet_acc_epoch4": range(6)}).to_csv(folder / "archs.csv",
                                                                                            index=False)
    runs = collect_runs(tmp_path)
    figure = budget_figure(pyplot(), budget_points(runs, method_labels(runs)), {})
    legend = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert "spos + 30 random landmarks: mid-run, 4-epoch runs (n=1-2)" in legend  # not n=2 for every point
    points = budget_points(runs, method_labels(runs)).set_index(["setting", "kind", "epoch"])
    assert sorted(points.index) == [
        ("spos", "end of run", 2), ("spos", "end of run", 4), ("spos", "mid-run", 1), ("spos", "mid-run", 2),
        ("spos + 30 random landmarks", "end of run", 4), ("spos + 30 random landmarks", "mid-run", 1),
        ("spos + 30 random landmarks", "mid-run", 2)]  # the 2-epoch runs' epoch 1 is no point: not the longest
    end = points.loc[("spos", "end of run", 2)]
    assert (end["budget"], end["n"], end["tau_mean"], end["tau_min"]) == (2, 2, pytest.approx(0.15), -0.0 + 0.1)
    assert points.loc[("spos", "mid-run", 2), "tau_mean"] == pytest.approx(0.0)
    assert points.loc[("spos", "mid-run", 2), "budget"] == 4
    # training minutes: 4 epochs of 30 s (seed 0) and 36 s (seed 1), the three evaluations left out
    assert points.loc[("spos", "end of run", 4), "minutes"] == pytest.approx(4 * 33 / 60)
    twelve = kendalltau(nb201.accuracies(archs, "cifar10_test_12ep"), nb201.accuracies(archs)).statistic
    assert cheap_reference(runs) == {"nb201": pytest.approx(twelve)}
    written = write_report(runs, tmp_path / "report", "lrnas report x")
    assert {"budget.png", "budget.pdf", "budget.csv"} <= {path.name for path in written}
    report = (tmp_path / "report/report.md").read_text()
    assert "| nb201 | spos | end of run | 2 | 0.150 ± 0.071 | 0.100 | 2 | 2.0 |" in report
    assert f"NB201's 12-epoch training {twelve:.3f}" in report


def test_report_proxies_score_each_runs_own_sample(tmp_path):
    """lrnas report --proxies: free rankings of runs that did not record them, on their archs.csv; the parameter
    count of the stand-alone networks ranks as the table's params_m does (the same networks)."""
    from lrnas.evaluation.metrics import kendall_tau
    from lrnas.reporting.free_rankings import add_proxies
    from lrnas.spaces.nb201.benchmark import load_nb201

    nb201 = load_nb201()
    archs = nb201.archs[100:108]
    truth = nb201.accuracies(archs, "cifar10_test")
    for seed in (0, 1):
        run = tmp_path / f"run{seed}"
        run.mkdir()
        OmegaConf.save(OmegaConf.create({
            "seed": seed, "space": {"name": "nb201", "ground_truth": "cifar10_test"}, "algorithm": {"name": "spos"},
            "eval": {"sample_seed": 0, "top_k": 10}, "regularizer": {"name": "none"}, "landmarks": {"method": "none"},
            "data": {"root": "unused", "cache_dir": str(tmp_path / "cache"), "synthetic": {"train": 64, "test": 32}}}),
            run / "config.yaml")
        pd.DataFrame({"arch": archs, "ground_truth": truth, "supernet_acc_epoch1": range(8)}).to_csv(
            run / "archs.csv", index=False)
        (run / "metrics.json").write_text(json.dumps({"final": {"epoch": 1, "kendall_tau": 0.1}, "history": []}))
    runs = add_proxies(collect_runs(tmp_path), ["params"])
    expected = kendall_tau(nb201.params(archs), truth)
    assert runs.table["params_kendall_tau"].tolist() == pytest.approx([expected, expected])
    assert "params 0.".replace("0.", f"{expected:.3f}") in to_markdown(paper_summary(runs))
    with pytest.raises(ValueError, match=r"^--proxies sinflow: not a zero-cost proxy; valid: "):
        add_proxies(runs, ["sinflow"])
