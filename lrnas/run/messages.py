"""What a run says: its log lines (training, ranking beside the free baseline), metrics.json and the summary table."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from ..evaluation.metrics import reported_top_k
from ..evaluation.proxies import PROXIES

if TYPE_CHECKING:
    from .state import Run


def describe_training(row: dict) -> str:
    text = f"train loss {row['train_loss']:.3f}, train acc {row['train_accuracy']:.1f}%"
    if "argmax_arch" in row:
        text += f", argmax arch {row['argmax_arch']} (p={row['argmax_probability']:.2g})"
    if "gumbel_tau" in row:
        text += f", Gumbel tau {row['gumbel_tau']:.2f}"
    if row.get("landmark_violation_rate") is not None:
        text += (f", landmark λ {row['landmark_lambda']:.3f}, mean penalty {row['landmark_penalty']:.4f}, "
                 f"violated pairs {100 * row['landmark_violation_rate']:.1f}%")
    elif "landmark_lambda" in row:
        text += ", landmark λ 0 (warm-up)"
    return text


def describe_ranking(metrics: dict) -> str:
    """One line a user can read at a glance: super-net tau beside the parameter-count baseline, with the sample.
    An undefined tau (all accuracies tied) is said in words, never printed as NaN."""
    tau, baseline = metrics["kendall_tau"], metrics["param_count_kendall_tau"]
    sample = f"on {metrics['sample_size']} non-landmark archs"
    if tau is None:
        text = f"{metrics['kendall_tau_undefined']} {sample} (param-count baseline {_number(baseline)})"
    else:
        versus = "" if baseline is None else f": super-net {'beats' if tau > baseline else 'does NOT beat'} it"
        text = (f"held-out Kendall tau {tau:.3f} {sample} (param-count baseline {_number(baseline)}{versus}), "
                f"sparse tau {_number(metrics['sparse_kendall_tau'])} (baseline "
                f"{_number(metrics['param_count_sparse_kendall_tau'])}), Spearman {_number(metrics['spearman_rho'])} "
                f"(baseline {_number(metrics['param_count_spearman_rho'])})")
    text += f", mean super-net acc {metrics['mean_supernet_accuracy']:.1f}%"
    free = {name: metrics[f"{name}_kendall_tau"] for name in PROXIES if f"{name}_kendall_tau" in metrics}
    if free:
        text += "; zero-cost proxies' Kendall tau " + ", ".join(f"{name} {_number(v)}" for name, v in free.items())
        best, best_tau = max(((n, v) for n, v in [("param count", baseline), *free.items()] if v is not None),
                             key=lambda item: item[1], default=(None, None))
        if best is not None and tau is not None:
            verdict = "beats" if tau > best_tau else "does NOT beat"
            text += f" (strongest free ranking: {best} {best_tau:.3f}; super-net {verdict} it)"
    if "landmark_kendall_tau" in metrics:
        landmark_tau = metrics["landmark_kendall_tau"]
        text += (f"; tau on the {metrics['num_landmarks']} landmarks themselves {landmark_tau:.3f}"
                 if landmark_tau is not None else f"; {metrics['landmark_kendall_tau_undefined']}")
    return text


def _number(value: float | None) -> str:
    return "undefined" if value is None else f"{value:.3f}"


def metrics_document(run: Run) -> dict:
    cfg = run.cfg
    evaluated = [row for row in run.history if "kendall_tau" in row]
    return {
        "eval_sample": {
            "num_archs": len(run.sample.archs),
            "excluded_landmarks": len(run.current_landmarks),
            "sample_seed": cfg.eval.sample_seed,
            "pool_size": len(run.sample.pool_ground_truth),  # the archs it is drawn from: P>random ranks among them
            "num_test_images": len(run.test_labels),
            "ground_truth": f"{cfg.space.name}:{cfg.space.ground_truth}",
            "table": cfg.space.get("table"),  # null: the shipped table
        },
        # Finished runs only: trained and searched (a run stopped during its search is resumed, not reported).
        "final": evaluated[-1] if evaluated and run.search is not None else None,
        "search": run.search,
        "history": run.history,
    }


def summary_table(history: list[dict]) -> str:
    frame = pd.DataFrame([row for row in history if "kendall_tau" in row])
    columns = ["epoch", "train_loss", "train_accuracy", "kendall_tau", "param_count_kendall_tau", "sparse_kendall_tau",
               "landmark_kendall_tau", "spearman_rho", *reported_top_k(frame), "pool_kendall_tau", "landmark_lambda",
               "elapsed_s"]
    numbers = frame[[c for c in columns if c in frame]].apply(pd.to_numeric)  # None (a tied tau) -> NaN -> na_rep
    return numbers.to_string(index=False, float_format=lambda v: f"{v:.3f}", na_rep="undefined")
