"""Figures of a report (matplotlib, Agg backend; each saved as PNG and PDF). Every figure names its sample and seeds.

- tau_vs_epoch: held-out Kendall tau-b per evaluated epoch, mean line and a +-1 std band over seeds per method, the
  parameter-count baseline as a dashed line;
- scatter: super-net accuracy against ground truth for one run of each method (its lowest seed), landmarks in another
  colour, tau in each title;
- regularizer: λ_t and the fraction of violated landmark pairs per epoch (methods with landmarks);
- ablation: final tau against each ablated key's value, with a +-1 std bar over seeds;
- budget: for runs that differ in trainer.epochs, tau against epochs and training minutes (lrnas.reporting.budget).

Needs matplotlib: ``pip install 'lrnas[plots]'``.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from ..run.folder import RunFolder
from .budget import budget_points, cheap_reference
from .paper_table import IDENTITY, ablated_keys, method_labels
from .runs import Runs


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed), or a one-line error saying how to install it."""
    try:
        import matplotlib
    except ImportError:
        raise RuntimeError("plots need matplotlib: pip install 'lrnas[plots]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(runs: Runs, out: Path, budget: tuple[pd.DataFrame, dict] | None = None) -> list[Path]:
    """Every figure that the runs have data for, as ``out/<name>.png`` and ``.pdf``; returns the PNG paths.
    ``budget``: a budget study's points and references (lrnas.reporting.budget), when the caller has them already."""
    plt = pyplot()
    labels = method_labels(runs)
    history = labelled_history(runs, labels)
    styles = method_styles(labels)
    figures = {"tau_vs_epoch": tau_vs_epoch(plt, history, runs, styles), "scatter": scatter(plt, runs, labels),
               "regularizer": regularizer(plt, history, runs, styles), "ablation": ablation(plt, runs)}
    if budget is None:
        points = budget_points(runs, labels)
        budget = None if points is None else (points, cheap_reference(runs))
    if budget is not None:
        figures["budget"] = budget_figure(plt, *budget)
    written = []
    for name, figure in figures.items():
        if figure is None:
            continue
        figure.savefig(out / f"{name}.png", dpi=120, bbox_inches="tight")
        # no creation date: the same runs give the same bytes, so a re-rendered report shows no change
        figure.savefig(out / f"{name}.pdf", bbox_inches="tight", metadata={"CreationDate": None})
        plt.close(figure)
        written.append(out / f"{name}.png")
    return written


def labelled_history(runs: Runs, labels: pd.DataFrame) -> pd.DataFrame:
    """runs.history with each row's method and space (labels are per run, in runs.table's order)."""
    by_run = labels.set_axis(runs.table["run"])
    return runs.history.assign(method=runs.history["run"].map(by_run["method"]),
                               space=runs.history["run"].map(by_run["space"]))


def method_styles(labels: pd.DataFrame) -> dict[str, dict]:
    """A colour per algorithm and a line style per landmark choice (dashed without, solid with), so a method and its
    landmark variant read as a pair."""
    colours = {algorithm: f"C{i}" for i, algorithm in enumerate(dict.fromkeys(labels["algorithm"]))}
    styles, seen = {}, {}
    for _, row in labels.drop_duplicates("method").iterrows():
        variant = seen.setdefault((row["algorithm"], row["landmarks"]), 0)  # ablation values of one pair: markers
        seen[(row["algorithm"], row["landmarks"])] += 1
        styles[row["method"]] = {"color": colours[row["algorithm"]], "linestyle": "-" if row["landmarks"] else "--",
                                 "marker": "osD^v<>ph*"[variant % 10]}
    return styles


def seeds_text(frame: pd.DataFrame) -> str:
    return ", ".join(str(int(seed)) for seed in sorted(frame["seed"].dropna().unique()))


def archs_text(sizes: pd.Series) -> str:
    known = sorted({int(size) for size in sizes.dropna()})
    return f"{'/'.join(map(str, known))} held-out archs" if known else "held-out archs"


def seeds_label(counts: pd.Series) -> str:
    """n of the values behind each point (an undefined tau is no value): ``n=3``, or ``n=2-3`` where some lack one."""
    low, high = int(counts.min()), int(counts.max())
    return f"n={high}" if low == high else f"n={low}-{high}"


def band(axis, frame: pd.DataFrame, x: str, y: str, label: str, style: dict) -> None:
    """Mean line over seeds and a +-1 std band, per value of ``x``."""
    stats = frame.groupby(x)[y].agg(["mean", "std", "count"]).reset_index()
    axis.plot(stats[x], stats["mean"], label=f"{label} ({seeds_label(stats['count'])})", **style)
    axis.fill_between(stats[x], stats["mean"] - stats["std"].fillna(0), stats["mean"] + stats["std"].fillna(0),
                      color=style["color"], alpha=0.15)


def tau_vs_epoch(plt, history: pd.DataFrame, runs: Runs, styles: dict):
    if not {"kendall_tau", "param_count_kendall_tau", "sample_size"} <= set(history):
        return None  # runs from before these were recorded
    evaluated = history.dropna(subset=["sample_size"])  # evaluated epochs; a tied tau stays, as NaN, in the count
    if evaluated.empty:
        return None
    spaces = list(dict.fromkeys(evaluated["space"]))
    figure, axes = plt.subplots(1, len(spaces), figsize=(7 * len(spaces), 4.5), squeeze=False)
    for axis, space in zip(axes[0], spaces, strict=True):
        frame = evaluated[evaluated["space"] == space]
        for method, rows in frame.groupby("method", sort=False):
            band(axis, rows, "epoch", "kendall_tau", method, styles[method])
        baseline = frame["param_count_kendall_tau"].mean()
        axis.axhline(baseline, color="black", linestyle="--", label=f"parameter count ({baseline:.3f})")
        axis.axhline(0, color="grey", linewidth=0.5)
        axis.set(title=f"{space}: Kendall τ-b on {archs_text(frame['sample_size'])}\n"
                       f"(band ±1 std over seeds {seeds_text(frame)})",
                 xlabel="epoch", ylabel="Kendall τ-b, super-net acc vs ground truth")
        axis.locator_params(axis="x", integer=True)
        axis.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    return figure


def scatter(plt, runs: Runs, labels: pd.DataFrame):
    """One panel per method (at most 8): its lowest seed's held-out archs at the last evaluation, and landmarks."""
    table = runs.table.assign(method=labels["method"].to_numpy(), space=labels["space"].to_numpy())
    chosen = table.sort_values("seed").groupby(["space", "method"], sort=False).head(1).head(8)
    columns = min(4, len(chosen))
    rows = -(-len(chosen) // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 4 * rows), squeeze=False)
    for axis, (_, run) in zip(axes.flat, chosen.iterrows(), strict=False):
        folder = RunFolder(run["run"])
        archs = pd.read_csv(folder.archs)
        last = [c for c in archs.columns if c.startswith("supernet_acc_epoch")][-1]
        axis.scatter(archs["ground_truth"], archs[last], s=12, label=f"held-out ({len(archs)})")
        if folder.landmark_scores.exists():
            scores = pd.read_csv(folder.landmark_scores)
            scores = scores[scores["epoch"] == scores["epoch"].max()]
            axis.scatter(scores["ground_truth"], scores["supernet_acc"], s=18, color="tab:orange", marker="^",
                         label=f"landmarks ({len(scores)})")
        tau = "undefined" if pd.isna(run["kendall_tau"]) else f"{run['kendall_tau']:.3f}"
        axis.set(title=f"{run['space']}: {run['method']}\nseed {run['seed']}, held-out τ-b {tau}",
                 xlabel="ground truth (%)",
                 ylabel=f"super-net acc (%), epoch {last.removeprefix('supernet_acc_epoch')}")
        axis.legend(fontsize=8)
    for axis in list(axes.flat)[len(chosen):]:
        axis.set_visible(False)
    figure.tight_layout()
    return figure


def regularizer(plt, history: pd.DataFrame, runs: Runs, styles: dict):
    if not {"landmark_lambda", "landmark_violation_rate"} <= set(history) or history["landmark_lambda"].isna().all():
        return None
    frame = history.dropna(subset=["landmark_lambda"])
    figure, (lam, violated) = plt.subplots(1, 2, figsize=(12, 4.2))
    for method, rows in frame.groupby("method", sort=False):
        band(lam, rows, "epoch", "landmark_lambda", method, styles[method])
        band(violated, rows.dropna(subset=["landmark_violation_rate"]), "epoch", "landmark_violation_rate", method,
             styles[method])
    lam.set(title=f"landmark coefficient λ_t (seeds {seeds_text(frame)})", xlabel="epoch", ylabel="λ_t")
    violated.set(title="landmark pairs ranked wrongly by the super-net's loss\n(per epoch, band ±1 std over seeds)",
                 xlabel="epoch", ylabel="violated-pair fraction")
    for axis in (lam, violated):
        axis.locator_params(axis="x", integer=True)
        axis.legend(fontsize=8)
    return figure


NOT_SET = "not set"  # a run whose config lacks the ablated key (a plain run has no landmarks.path)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def tick_labels(names: list[str]) -> list[str]:
    """Categorical values as tick labels; files of one name in several folders (landmark builds' landmarks.csv) are
    named by their folder, the part that differs.

    >>> tick_labels(["out/a-12ep/landmarks.csv", "out/b-proxy/landmarks.csv", "not set"])
    ['a-12ep', 'b-proxy', 'not set']
    """
    paths = [Path(name) for name in names if name != NOT_SET]
    folders = {path.parent.name for path in paths}
    if len(paths) > 1 and len({path.name for path in paths}) == 1 and len(folders) == len(paths) and "" not in folders:
        return [name if name == NOT_SET else Path(name).parent.name for name in names]
    return names


def ablation(plt, runs: Runs):
    """Final tau against each ablated key (numeric keys on a numeric axis). One line per space, algorithm, regularizer
    and value of the other ablated keys, so runs that differ in anything but the plotted key are never averaged."""
    keys = ablated_keys(runs)
    if not keys:
        return None
    figure, axes = plt.subplots(1, len(keys), figsize=(6 * len(keys), 4.2), squeeze=False)
    configs = runs.configs.reindex(columns=list(dict.fromkeys([*IDENTITY, *keys])))
    for axis, key in zip(axes[0], keys, strict=True):
        text = configs[key].map(lambda value: NOT_SET if _missing(value) else str(value))
        numeric = pd.to_numeric(configs[key], errors="coerce").notna().all()
        names = list(dict.fromkeys(text))  # categorical values in first-seen order (the sweep's)
        x = pd.to_numeric(configs[key]) if numeric else text.map({name: i for i, name in enumerate(names)})
        line_keys = [k for k in dict.fromkeys([*IDENTITY, *keys]) if k != key]
        frame = runs.table.assign(_x=x.to_numpy(), **{f"_line{i}": configs[k].map(str).to_numpy()
                                                      for i, k in enumerate(line_keys)})
        for line, rows in frame.groupby([f"_line{i}" for i in range(len(line_keys))], sort=False):
            stats = rows.groupby("_x")["kendall_tau"].agg(["mean", "std", "count"]).reset_index()
            described = [value for k, value in zip(line_keys, line, strict=True) if k in IDENTITY] + [
                f"{k}={value}" for k, value in zip(line_keys, line, strict=True) if k not in IDENTITY]
            axis.errorbar(stats["_x"], stats["mean"], yerr=stats["std"].fillna(0), marker="o", capsize=3,
                          linestyle="-" if numeric else "none",  # no line between unordered options
                          label=f"{' '.join(described)} ({seeds_label(stats['count'])})")
        axis.axhline(runs.table["param_count_kendall_tau"].mean(), color="black", linestyle="--",
                     label="parameter count")
        if not numeric:
            axis.set_xticks(range(len(names)), tick_labels(names), rotation=20, ha="right")
        axis.set(title=f"final Kendall τ-b on {archs_text(runs.table['sample_size'])} against {key}\n"
                       f"(±1 std over seeds {seeds_text(runs.table)})", xlabel=key,
                 ylabel="Kendall τ-b, held-out archs")
        axis.legend(fontsize=8)
    return figure


def budget_figure(plt, points: pd.DataFrame, references: dict[str, float]):
    """Two panels per space: held-out tau against epochs and against training minutes. Mid-run points as a line
    with a +-1 std band over seeds (the longest runs), end-of-run points as filled markers with +-1 std bars."""
    spaces = list(dict.fromkeys(points["space"]))
    figure, axes = plt.subplots(len(spaces), 2, figsize=(14, 4.8 * len(spaces)), squeeze=False)
    for row, space in zip(axes, spaces, strict=True):
        frame = points[points["space"] == space]
        colours = {setting: f"C{i}" for i, setting in enumerate(dict.fromkeys(frame["setting"]))}
        for axis, x, xlabel in ((row[0], "epoch", "epoch"),
                                (row[1], "minutes", "training minutes (evaluations left out; wall clock of the run)")):
            for setting, rows in frame.groupby("setting", sort=False):
                colour = colours[setting]
                mid = rows[rows["kind"] == "mid-run"]
                if len(mid):
                    longest = int(mid["budget"].max())
                    # the line runs on to the same runs' end, drawn below as an end-of-run point
                    trajectory = pd.concat([mid, rows[(rows["kind"] == "end of run") & (rows["budget"] == longest)]])
                    axis.plot(trajectory[x], trajectory["tau_mean"], color=colour, linestyle=":", marker="o",
                              markerfacecolor="none",
                              label=f"{setting}: mid-run, {longest}-epoch runs ({seeds_label(mid['n'])})")
                    axis.fill_between(mid[x], mid["tau_mean"] - mid["tau_std"].fillna(0),
                                      mid["tau_mean"] + mid["tau_std"].fillna(0), color=colour, alpha=0.12)
                end = rows[rows["kind"] == "end of run"]
                axis.errorbar(end[x], end["tau_mean"], yerr=end["tau_std"].fillna(0), color=colour, marker="s",
                              markersize=7, capsize=3, linestyle="-",
                              label=f"{setting}: end of run ({seeds_label(end['n'])})")
            baseline = frame["param_count_tau"].mean()
            axis.axhline(baseline, color="black", linestyle="--", label=f"parameter count ({baseline:.3f}), free")
            if space in references:
                axis.axhline(references[space], color="tab:brown", linestyle="-.",
                             label=f"NB201's 12-epoch stand-alone training ({references[space]:.3f})")
            axis.axhline(0, color="grey", linewidth=0.5)
            axis.set(xlabel=xlabel, ylabel="held-out Kendall τ-b",
                     title=f"{space}: held-out τ-b against {xlabel.split(' (')[0]}\n(mean over seeds; band and bars "
                           "±1 std)")
        row[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    figure.tight_layout()
    return figure
