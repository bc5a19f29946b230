"""Check lrnas's zero-cost proxies against numbers nobody here computed.

Reads the CSV `lrnas proxies` wrote for random NB201 cells and BayesWatch's own score for every cell
(nb201_200ep_cifar10_naswot.csv, naswot_score, from their repository as of September 2020: the score of the paper's
first version, -sum(log(v + k) + 1/(v + k)) over the eigenvalues v of the input Jacobians' correlation matrix, batch
128; lrnas computes it as ``jacob_cov``, batch 64, and the paper's final score, the ReLU-code kernel's log-determinant,
as ``naswot``). Prints the Spearman correlation of each of those two lrnas proxies with BayesWatch's score on the
first 200 cells and on all (cells their file leaves NaN left out), then each proxy's rank correlations with ground
truth.

    lrnas proxies space=nb201 data.root=../shared/data/cifar10/cifar10_jpg_q75.tar.gz --archs 1000 --out proxies.csv
    python scripts/check_proxies.py proxies.csv ../shared/data/nb201/nb201_200ep_cifar10_naswot.csv
"""
from __future__ import annotations

import argparse

import pandas as pd
from scipy import stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scores", help="the CSV `lrnas proxies space=nb201` wrote")
    parser.add_argument("naswot", help="BayesWatch's scores: a CSV with arch_str and naswot_score")
    args = parser.parse_args()
    ours = pd.read_csv(args.scores)
    theirs = pd.read_csv(args.naswot).set_index("arch_str")["naswot_score"]
    missing = ~ours["arch"].isin(theirs.index)
    if missing.any():
        raise SystemExit(f"{args.naswot} has no score for {ours['arch'][missing].iloc[0]!r}")
    reference = theirs.loc[ours["arch"]].to_numpy()
    for name in [column for column in ("naswot", "jacob_cov") if column in ours]:
        for count in sorted({min(200, len(ours)), len(ours)}):
            rho = stats.spearmanr(ours[name][:count], reference[:count], nan_policy="omit").statistic
            scored = int(pd.notna(reference[:count]).sum())
            print(f"lrnas {name} vs BayesWatch's score, first {count} cells ({scored} they scored): Spearman {rho:.3f}")
    truth_column = next(c for c in ours.columns if c.startswith("cifar10"))
    print(f"\nagainst {truth_column} over {len(ours)} cells:  Kendall tau-b  Spearman")
    for name in [c for c in ours.columns if c not in ("arch", truth_column)]:
        tau = stats.kendalltau(ours[name], ours[truth_column]).statistic
        rho = stats.spearmanr(ours[name], ours[truth_column]).statistic
        print(f"  {name:<10} {tau:>+14.3f} {rho:>+9.3f}")
    tau = stats.kendalltau(reference, ours[truth_column], nan_policy="omit").statistic
    rho = stats.spearmanr(reference, ours[truth_column], nan_policy="omit").statistic
    print(f"  {'BayesWatch':<10} {tau:>+14.3f} {rho:>+9.3f}   (their score, the cells they scored)")


if __name__ == "__main__":
    main()
