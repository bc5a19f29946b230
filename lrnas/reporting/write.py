"""Write a report folder: report.md, report.csv, report.tex (the paper's table), runs.csv, history.csv and the plots.

    lrnas report outputs/sweeps/table_nb201_cpu --out docs/results/table-nb201-cpu
"""
from __future__ import annotations

from pathlib import Path

from .paper_table import describe_provenance, describe_sample, paper_summary, to_latex, to_markdown
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
    try:
        plots = write_plots(runs, out)
    except RuntimeError as error:  # matplotlib missing: the tables still stand
        plots, missing_plots = [], str(error)
    else:
        missing_plots = ""
    lines = [f"# {out.name}", "", f"Made by `{command}`. {describe_provenance(runs)}", "", describe_sample(runs), "",
             to_markdown(summary)]
    if runs.left_out:
        lines += ["## Runs not in the table", "", *(f"- {entry}" for entry in runs.left_out), ""]
    if plots or missing_plots:
        lines += ["## Figures", ""] + [f"![{png.stem}]({png.name})" for png in plots] + [missing_plots, ""]
    (out / "report.md").write_text("\n".join(lines))
    names = ["report.md", "report.csv", "report.tex", "runs.csv", "history.csv"]
    return [out / name for name in names] + [path for png in plots for path in (png, png.with_suffix(".pdf"))]
