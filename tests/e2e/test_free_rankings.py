"""eval.proxies end to end: zero-cost proxies of the evaluation sample printed beside the super-net, recomputed here
from the files the runs wrote, computed once for a sweep, and shown by `lrnas report`."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
from scipy import stats


def test_two_seeds_share_one_cached_scoring_and_report_it(tmp_path):
    cache = tmp_path / "cache"
    result = subprocess.run(
        [sys.executable, "-m", "lrnas.cli", "train", "-m", "experiment=smoke", "seed=0,1",
         "eval.proxies=[naswot,params]", "eval.proxy_recipe=nb201_cpu"],
        cwd=tmp_path, env={**os.environ, "LRNAS_CACHE": str(cache)}, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    runs = sorted(p.parent for p in tmp_path.glob("outputs/multirun/**/metrics.json"))
    assert len(runs) == 2
    for run in runs:
        final = json.loads((run / "metrics.json").read_text())["final"]
        archs = pd.read_csv(run / "archs.csv")
        for proxy in ("naswot", "params"):
            assert final[f"{proxy}_kendall_tau"] == pytest.approx(
                stats.kendalltau(archs[proxy], archs["ground_truth"]).statistic)
        # the stand-alone network's parameter count ranks as the table's params_m does
        assert final["params_kendall_tau"] == pytest.approx(final["param_count_kendall_tau"])
        best = max([("param count", final["param_count_kendall_tau"]), ("params", final["params_kendall_tau"]),
                    ("naswot", final["naswot_kendall_tau"])], key=lambda item: item[1])
        assert f"(strongest free ranking: {best[0]} {best[1]:.3f}; super-net " in (run / "train.log").read_text()
    first, second = (pd.read_csv(run / "archs.csv").set_index("arch") for run in runs)
    assert first["naswot"].equals(second["naswot"])  # the sample's seed, not the run's
    (cached,) = cache.glob("proxies/nb201-nb201_cpu-*.csv")
    assert len(pd.read_csv(cached)) == 2 * len(first)  # scored once for both runs: one row per arch and proxy

    report = subprocess.run([sys.executable, "-m", "lrnas.cli", "report", "outputs/multirun", "--out", "report"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert report.returncode == 0, report.stderr[-3000:]
    table = (tmp_path / "report" / "report.md").read_text()
    mean_naswot = sum(json.loads((run / "metrics.json").read_text())["final"]["naswot_kendall_tau"] for run in runs) / 2
    assert "zero-cost proxies' τ-b |" in table and f"naswot {mean_naswot:.3f}" in table
