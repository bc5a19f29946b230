"""The paper's table from run folders: a column group per search space, a row per method (algorithm, without and with
landmarks, and whatever else the runs vary), mean +- std over seeds, the parameter-count baseline beside every rank
correlation. Written as report.md, report.csv (every mean, std and 95% CI as numbers) and report.tex.

The layout follows the authors' kcyu2014/nas-landmarkreg nasws/cnn/visualization/latex_table.py (a \\multicolumn group
per space over super-net accuracy, Kendall tau, P>random and final performance, mean$\\pm$std); lrnas adds scipy's
tau-b beside the authors' sparse tau, Spearman rho, n and the baselines.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf

from ..evaluation.proxies import PROXIES
from .runs import BOOKKEEPING, Runs, summarise
from .statistics import paired_gains, pooled_kendall_tau

# What names a method: the rest of a row's label is the keys these do not determine (an ablation's value).
IDENTITY = ("space.name", "algorithm.name", "regularizer.name")

# (header, metric, its baseline or None, decimals); accuracies are in %, the rest in [-1, 1] or [0, 1]. {k} is the
# row's eval.top_k (the authors' K: 10 on NB201, 5 on NB101).
COLUMNS = [("super-net acc (%)", "mean_supernet_accuracy", None, 2),
           ("Kendall τ-b (params)", "kendall_tau", "param_count_kendall_tau", 3),
           ("sparse τ (params)", "sparse_kendall_tau", "param_count_sparse_kendall_tau", 3),
           ("Spearman ρ (params)", "spearman_rho", "param_count_spearman_rho", 3),
           ("P>random", "p_surpass_random_top{k}", None, 3),
           ("final perf (%)", "top{k}_mean_ground_truth", None, 2)]


def ablated_keys(runs: Runs) -> list[str]:
    """The differing keys that space, algorithm and regularizer do not determine: what an ablation varies (a GDAS
    run's temperature comes with choosing GDAS; a λ sweep's λ does not)."""
    configs = runs.configs.reindex(columns=list(dict.fromkeys([*IDENTITY, *runs.keys])))
    by_identity = configs.groupby(list(IDENTITY), dropna=False)
    return [key for key in runs.keys if key not in IDENTITY
            and by_identity[key].agg(lambda values: len({repr(v) for v in values})).max() > 1]


def method_labels(runs: Runs) -> pd.DataFrame:
    """Per run (runs.table's order): its space and a method label such as ``gdas + 30 random landmarks`` followed by
    ``key=value`` for every other ablated key."""
    extras = [key for key in ablated_keys(runs)
              if key not in ("landmarks.num_landmarks", "landmarks.method", "landmarks.path")]
    labels = []
    for _, config in runs.configs.iterrows():
        label = str(config.get("algorithm.name"))
        if config.get("regularizer.name") == "landmark":
            path = Path(str(config.get("landmarks.path")))  # builds name every file landmarks.csv: keep its folder
            label += (f" + landmarks from {Path(path.parent.name, path.name).as_posix()}"
                      if config.get("landmarks.method") == "file"
                      else f" + {config.get('landmarks.num_landmarks')} {config.get('landmarks.method')} landmarks")
        # a key a run does not have (a plain run's regularizer settings) is not part of its label
        label += "".join(f", {key}={config.get(key)}" for key in extras if not pd.isna(config.get(key)))
        labels.append(label)
    return pd.DataFrame({"space": runs.configs.get("space.name"), "algorithm": runs.configs.get("algorithm.name"),
                         "landmarks": runs.configs.get("regularizer.name") == "landmark", "method": labels,
                         "top_k": runs.configs.get("eval.top_k")})


def paper_summary(runs: Runs) -> pd.DataFrame:
    """summarise() per (space, method): n and every metric's mean, std and 95% interval; for methods with landmarks
    the paired gain in Kendall tau-b over their plain twin (lrnas.reporting.statistics.paired_gains); the authors'
    pooled tau-b (pooled_kendall_tau). Rows as in the paper: spaces and algorithms in the order the runs first show
    them, each algorithm without landmarks, then with."""
    labels = method_labels(runs)
    labelled = replace(runs, table=runs.table.assign(**{name: labels[name].to_numpy() for name in labels}),
                       keys=list(labels))
    summary = summarise(labelled)
    first_seen = {name: {value: i for i, value in enumerate(dict.fromkeys(labels[name]))} for name in labels}
    first_seen["landmarks"] = {False: 0, True: 1}  # without landmarks first, whichever folder sorts first
    summary = summary.sort_values(list(labels), key=lambda column: column.map(first_seen[column.name]),
                                  kind="stable").reset_index(drop=True)
    configurations = runs.table.groupby(runs.keys, dropna=False).ngroups if runs.keys else 1
    if len(summary) != configurations:  # two configurations under one label would be averaged together
        raise ValueError(f"{configurations} configurations got only {len(summary)} labels; "
                         "report them separately (lrnas report FOLDER for each)")
    gains = paired_gains(runs.table, runs.configs, labels, ignored=BOOKKEEPING)
    pooled = pooled_kendall_tau(runs.table, runs.table["epoch"].astype(int).tolist(), labels)
    return summary.merge(gains, on=["space", "method"], how="left").merge(pooled, on=["space", "method"], how="left")


def cell(row: pd.Series, metric: str, baseline: str | None, decimals: int, plus_minus: str = " ± ") -> str:
    """``mean ± std`` (the std only with two seeds or more), then ``(baseline mean)``; "-" for a missing mean."""
    metric = metric.format(k=row.get("top_k"))
    mean, std = row.get(f"{metric}_mean"), row.get(f"{metric}_std")
    if pd.isna(mean):
        return "-"
    text = f"{mean:.{decimals}f}" + ("" if pd.isna(std) else f"{plus_minus}{std:.{decimals}f}")
    if baseline and not pd.isna(row[f"{baseline}_mean"]):
        text += f" ({row[f'{baseline}_mean']:.{decimals}f})"
    return text


def ci_cell(row: pd.Series, metric: str) -> str:
    low, high = row[f"{metric}_ci_low"], row[f"{metric}_ci_high"]
    return "-" if pd.isna(low) or pd.isna(high) else f"[{low:.3f}, {high:.3f}]"


def gain_cell(row: pd.Series) -> str:
    """``+0.120 [0.050, 0.190] (3 pairs)``: the mean per-seed gain over the plain twin and its interval."""
    if pd.isna(row.get("gain_mean")):
        return "-"
    bounds = "" if pd.isna(row["gain_ci_low"]) else f" [{row['gain_ci_low']:+.3f}, {row['gain_ci_high']:+.3f}]"
    pairs = int(row["pairs"])
    return f"{row['gain_mean']:+.3f}{bounds} ({pairs} pair{'s' * (pairs != 1)})"


def pooled_cell(row: pd.Series) -> str:
    """The authors' pooled tau-b with the runs it pools, and a note where their 40% rule leaves the row out."""
    if pd.isna(row.get("pooled_kendall_tau")):
        return "-"
    skipped = ", < 40% acc: their table skips it" if row["authors_skip"] else ""
    runs = int(row["pooled_runs"])
    return f"{row['pooled_kendall_tau']:.3f} ({runs} run{'s' * (runs != 1)}{skipped})"


MARKDOWN_HEADERS = ["method", "n", *(header for header, *_ in COLUMNS[:2]), "τ-b 95% CI (Fisher z)",
                    "τ-b gain over plain, paired (95% CI)", "pooled τ-b (authors')",
                    *(header for header, *_ in COLUMNS[2:])]


def to_markdown(summary: pd.DataFrame) -> str:
    """One table per space: method, n, the COLUMNS, the 95% interval of Kendall tau-b, the paired gain over the plain
    twin and the authors' pooled tau-b."""
    proxies = [proxy for proxy in PROXIES if f"{proxy}_kendall_tau_mean" in summary]  # runs with eval.proxies
    pooled_alpha = bool(summary.get("pool_kendall_tau_mean", pd.Series(dtype=float)).notna().any())  # alpha_refresh
    headers = (MARKDOWN_HEADERS + ["τ-b on the authors' α pool"] * pooled_alpha
               + ["zero-cost proxies' τ-b"] * bool(proxies))
    parts = []
    for space, rows in summary.groupby("space", sort=False, dropna=False):
        lines = [f"**{space}**", "", "| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        for _, row in rows.iterrows():
            cells = [cell(row, *column[1:]) for column in COLUMNS]
            free = [", ".join(f"{proxy} {row[f'{proxy}_kendall_tau_mean']:.3f}" for proxy in proxies
                              if not pd.isna(row[f"{proxy}_kendall_tau_mean"])) or "-"] * bool(proxies)
            alpha = [cell(row, "pool_kendall_tau", None, 3)] * pooled_alpha
            lines.append("| " + " | ".join([row["method"], str(row["n"]), *cells[:2], ci_cell(row, "kendall_tau"),
                                             gain_cell(row), pooled_cell(row), *cells[2:], *alpha, *free]) + " |")
        parts.append("\n".join(lines))
    return "\n\n".join(parts) + "\n"


FAIRNAS_WITH_LANDMARKS = (
    "FairNAS with landmarks is lrnas's composition, not the authors' procedure: their released fairnas procedure has "
    "no landmark term (kcyu2014/nas-landmarkreg nasws/cnn/procedures/fairnas_procedure.py:9-79, selected at "
    "cnn_general_search_policies.py:171-180; only spos_rankloss and darts_rankloss add one, :192-200) and no script "
    "in their bash/ runs FairNAS. Here each strict-fair step sums the gradients of its paths (5 on NB201, 3 on NB101) "
    "and adds one landmark term per step, so λ weighs against that sum.")


def describe_methods(summary: pd.DataFrame) -> str:
    """What a reader must know about a row's method that its label cannot say ("" when nothing)."""
    composed = summary[(summary["algorithm"] == "fairnas") & summary["landmarks"].astype(bool)]
    return FAIRNAS_WITH_LANDMARKS if len(composed) else ""


def describe_statistics(summary: pd.DataFrame) -> str:
    """How the table's intervals, gains and pooled column are computed, and every run or row the authors' rules drop."""
    lines = ["τ-b 95% CI: Student's t on Fisher's z (atanh) of the per-seed values, mapped back with tanh, so it stays "
             "within [-1, 1]; none is given below 3 seeds (with 2, t(0.975, 1) = 12.7 spans the whole range). "
             "It compares configurations unpaired. τ-b gain over plain, paired: per seed, the run with landmarks minus "
             "the plain run with the same seed and otherwise the same config (same data order and evaluation sample); "
             "mean and Student-t 95% interval over those pairs (none below 3 pairs). pooled τ-b (authors'): as "
             "kcyu2014/nas-landmarkreg's table printer (latex_table.py:141 -> analysis.py:93-114 -> "
             "tool.py:366-395): the seeds' final evaluations pooled, an architecture's super-net accuracies averaged "
             "over the seeds that scored it, one tau-b per configuration; runs with mean super-net accuracy below "
             "15% left out first (tool.py:13, 209-213)."]
    dropped = [entry for entry in summary.get("dropped_runs", pd.Series(dtype=object)).dropna() if entry]
    skipped = summary[summary.get("authors_skip", pd.Series(False, index=summary.index)).fillna(False).astype(bool)]
    if dropped:
        lines += ["", "Runs the authors' 15% rule leaves out of the pooled column (they stay in every other column):",
                  *(f"- {entry}" for text in dropped for entry in text.split("; "))]
    if len(skipped):
        lines += ["", "Rows whose pooled mean super-net accuracy is below 40%, which the authors' printer skips "
                  "(analysis.py:57, 101-105; shown here): " + ", ".join(
                      f"{space}: {method}" for space, method in skipped[["space", "method"]].itertuples(index=False))]
    return "\n".join(lines)


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
                 **{c: "\\" + c for c in "&%$#_{}"}}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(c, c) for c in str(text))


LATEX_HEADERS = ["n", "acc", r"$\tau_b$", r"sparse $\tau$", r"$\rho$", "P$>$random", "perf"]


def to_latex(summary: pd.DataFrame) -> str:
    """booktabs tabular in the authors' layout: a multicolumn group per space, one row per method."""
    spaces = list(dict.fromkeys(summary["space"]))
    width = len(LATEX_HEADERS)
    lines = [r"\begin{tabular}{l" + "".join(" " + "c" * width for _ in spaces) + "}", r"\toprule",
             " & ".join([""] + [rf"\multicolumn{{{width}}}{{c}}{{{latex_escape(space)}}}" for space in spaces])
             + r" \\",
             "".join(rf"\cmidrule(lr){{{2 + i * width}-{1 + (i + 1) * width}}}" for i in range(len(spaces))),
             " & ".join(["Method"] + LATEX_HEADERS * len(spaces)) + r" \\", r"\midrule"]
    for method in dict.fromkeys(summary["method"]):
        cells = [latex_escape(method)]
        for space in spaces:
            row = summary[(summary["space"] == space) & (summary["method"] == method)]
            if row.empty:
                cells += ["-"] * width
                continue
            row = row.iloc[0]
            cells += [str(row["n"])] + [cell(row, *column[1:], plus_minus=r"$\pm$") for column in COLUMNS]
        lines.append(" & ".join(cells) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines) + "\n"


def describe_sample(runs: Runs) -> str:
    """The evaluation behind every number, in words: sample size, test images, seeds, ground truth."""
    table, configs = runs.table, runs.configs
    sizes = sorted({int(size) for size in table["sample_size"].dropna()})
    seeds = sorted({int(seed) for seed in table["seed"].dropna()})
    images = sorted({int(v) for v in configs.get("eval.num_test_images", pd.Series(dtype=float)).dropna()})
    truth = sorted({str(v) for v in configs.get("space.ground_truth", pd.Series(dtype=object)).dropna()})
    sample_seeds = sorted({int(v) for v in configs.get("eval.sample_seed", pd.Series(dtype=float)).dropna()})
    top_k = sorted({int(v) for v in configs.get("eval.top_k", pd.Series(dtype=float)).dropna()})
    return (f"Rank correlations on {'/'.join(map(str, sizes))} held-out non-landmark architectures (eval.sample_seed "
            f"{'/'.join(map(str, sample_seeds)) or '?'}: the same archs for every run of a space with that seed), "
            f"each scored on {'/'.join(map(str, images)) or '?'} CIFAR-10 test images; "
            f"ground truth {', '.join(truth) or '?'}; seeds {', '.join(map(str, seeds))}. Cells are mean ± std over "
            "seeds (n of them); in parentheses, the parameter-count baseline on the same sample. final perf = mean "
            f"ground truth of the super-net's top {'/'.join(map(str, top_k)) or '?'} of the sample; P>random = the "
            "authors' prob_surpass_random over the same top K (eval.top_k).")


def placeholder_data(override: str) -> str:
    """``data.root=/an/absolute/path`` -> ``data.root=/path/to/cifar10``: a committed report names no folder of the
    machine that made it (a relative path, valid in any checkout, stays)."""
    key, _, value = override.partition("=")
    return f"{key}=/path/to/cifar10" if key == "data.root" and Path(value).is_absolute() else override


def describe_provenance(runs: Runs) -> str:
    """Which lrnas revisions made the runs, and the sweep commands (from each sweep's multirun.yaml)."""
    revisions = runs.table["git_revision"].fillna("unrecorded").map(
        lambda rev: rev[:12] + ("-dirty" if rev.endswith("-dirty") else "")).value_counts(sort=False)
    made = ", ".join(f"{revision} ({count} runs)" for revision, count in revisions.items())
    sweeps = []
    for folder in dict.fromkeys(Path(run).parent for run in runs.table["run"]):
        if (folder / "multirun.yaml").exists():
            task = OmegaConf.to_container(OmegaConf.load(folder / "multirun.yaml"), resolve=False)["hydra"]["overrides"]
            sweeps.append(f"`lrnas train -m {' '.join(map(placeholder_data, task['task']))}` (in {folder})")
    return f"Runs made by lrnas {made}" + (f", launched as {'; '.join(sweeps)}." if sweeps else ".")
