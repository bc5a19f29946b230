"""Write a report folder: report.md, report.csv, report.tex (the paper's table), runs.csv, history.csv and the plots.

    lrnas report outputs/sweeps/table_nb201_cpu --out docs/results/table-nb201-cpu
"""
from __future__ import annotations

from pathlib import Path

from .budget import budget_points, cheap_reference
from .paper_table import (
    describe_methods,
    describe_provenance,
    describe_sample,
    describe_statistics,
    method_labels,
    paper_summary,
    to_latex,
    to_markdown,
)
from .plots import write_plots
from .runs import Runs


def write_report(runs: Runs, out: Path, command: str) -> list[Path]:
    """Everything into ``out`` (created); returns the files written. ``command`` is quoted in report.md."""
    out.mkdir(parents=True, exist_ok=True)
    summary = paper_summary(runs)
    summary.to_csv(out / "report.csv", index=False)
    (out / "report.tex").write_text(to_latex(summary))
    runs.table.to_csv(out / "runs.csv", index=False)
    runs.history.to_csv(out / "history.csv", index=False)
    points = budget_points(runs, method_labels(runs))
    budget = None if points is None else (points, cheap_reference(runs))
    if points is not None:
        points.to_csv(out / "budget.csv", index=False)
    try:
        plots = write_plots(runs, out, budget)
    except RuntimeError as error:  # matplotlib missing: the tables still stand
        plots, missing_plots = [], str(error)
    else:
        missing_plots = ""
    methods = describe_methods(summary)
    lines = [f"# {out.name}", "", f"Made by `{command}`. {describe_provenance(runs)}", "", describe_sample(runs), "",
             to_markdown(summary), describe_statistics(summary), *(["", methods] if methods else []), ""]
    if points is not None:
        lines += [budget_markdown(*budget), ""]
    if runs.left_out:
        lines += ["## Runs not in the table", "", *(f"- {entry}" for entry in runs.left_out), ""]
    if plots or missing_plots:
        lines += ["## Figures", ""] + [f"![{png.stem}]({png.name})" for png in plots] + [missing_plots, ""]
    (out / "report.md").write_text("\n".join(lines))
    names = ["report.md", "report.csv", "report.tex", "runs.csv", "history.csv", *(["budget.csv"] if points is not None
                                                                                  else [])]
    return [out / name for name in names] + [path for png in plots for path in (png, png.with_suffix(".pdf"))]


def budget_markdown(points, references: dict[str, float]) -> str:
    """The budget study's points as a table: setting, kind (end of run or mid-run), epoch, tau over seeds, minutes."""
    named = [f"parameter count {points['param_count_tau'].mean():.3f}"] + [
        f"{space}: NB201's 12-epoch training {tau:.3f}" for space, tau in references.items()]
    lines = ["## Budget", "", "Held-out Kendall τ-b at each budget: *end of run* is a run's final evaluation after its "
             "whole cosine schedule; *mid-run* is an evaluation inside the longest runs, with the learning rate still "
             f"high. Training minutes leave evaluations out. References on the same sample: {'; '.join(named)}.",
             "", "| space | setting | kind | epoch | τ-b mean ± std | lowest seed | n | training min |",
             "|---|---|---|---|---|---|---|---|"]
    for row in points.itertuples(index=False):
        std = "" if row.tau_std != row.tau_std else f" ± {row.tau_std:.3f}"  # NaN: one seed
        minutes = "-" if row.minutes != row.minutes else f"{row.minutes:.1f}"
        lines.append(f"| {row.space} | {row.setting} | {row.kind} | {row.epoch} | {row.tau_mean:.3f}{std} | "
                     f"{row.tau_min:.3f} | {row.n} | {minutes} |")
    return "\n".join(lines)
