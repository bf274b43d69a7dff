"""Risk hotspots of the townships in a region and period: smoothed rates, Gi* and local Moran
classes (geo/hotspots.py), in one table for the page, the CLI and the exports.

What is tested
--------------
``of="risk"``: risk households per 1,000 households screened (risk_rate_per_1000);
``of="cases"``: cases received per 10,000 registered households (cases_per_10k). The rate is
first smoothed by global empirical Bayes (``hotspots.smooth_global``: each township pulled
toward the region's pooled rate, the more the fewer households it has), then tested with
Getis-Ord Gi* and local Moran's I on queen contiguity (islands joined to their nearest
township), 999 seeded permutations, Benjamini-Hochberg FDR at 0.05. See geo/hotspots.py for
the decision rule. The statistics describe the townships of ``region_code`` among themselves.
"""
import pandas as pd

from geo import boundaries, hotspots
from queries import indicators, periods, runner

MEASURES = {
    # of: (rate column, events column, base column, multiplier)
    "risk": ("risk_rate_per_1000", "risk_households", "households_screened", 1000.0),
    "cases": ("cases_per_10k", "cases_received", "households_total", 10000.0),
}
COLUMNS = ["region_code", "rate", "rate_smoothed", "events", "base", "gi_z", "gi_p", "gi_p_fdr",
           "moran_i", "moran_q", "moran_p_fdr", "hotspot_class"]
# What follows from a township's own count closely enough to give it back (the smoothed rate is
# the raw one pulled toward the pool; z and p grow with it): hidden with the count
# (indicators/suppress.derived). The class is kept: it says only which side of the test it fell.
OWN_VALUE = ["rate", "rate_smoothed", "events", "gi_z", "gi_p", "gi_p_fdr", "moran_i", "moran_q", "moran_p_fdr"]


def table(con, period: str | periods.Period, scope: list[str], region_code: str | None = None,
          of: str = "risk", filters: indicators.Filters | None = None,
          permutations: int = hotspots.PERMUTATIONS, seed: int = hotspots.SEED,
          alpha: float = hotspots.ALPHA) -> pd.DataFrame:
    """One row per atlas township in scope with a boundary: the raw and smoothed rate and the
    hotspot statistics (COLUMNS). Townships without a boundary cannot have neighbours and are
    left out; a township with no base (nothing screened) has no rate and is class "ns"."""
    if of not in MEASURES:
        raise ValueError(f"bad measure {of!r}: expected one of {', '.join(MEASURES)}")
    rate_col, events_col, base_col, per = MEASURES[of]
    towns = indicators.table(con, "township", period, scope, region_code, filters)
    effective = indicators.narrow(scope, region_code) or ["-"]
    shapes = boundaries.from_rows(runner.run(con, "township_shapes", scope=effective))
    shapes = shapes[shapes["region_code"].isin(towns["region_code"])].reset_index(drop=True)
    frame = towns.set_index("region_code").loc[shapes["region_code"], [rate_col, events_col, base_col]]
    events = frame[events_col].astype(float).to_numpy()
    base = frame[base_col].astype(float).to_numpy()
    smoothed = hotspots.smooth_global(events, base) * per
    out = pd.DataFrame({"region_code": shapes["region_code"].to_numpy(), "rate": frame[rate_col].astype(float).to_numpy(),
                        "rate_smoothed": smoothed, "events": events, "base": base})
    if len(shapes) == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    w = hotspots.weights(shapes, shapes["region_code"].tolist())
    stats = hotspots.hotspots(pd.Series(smoothed, index=shapes["region_code"]), w, permutations=permutations,
                              seed=seed, alpha=alpha)
    out = out.merge(stats, left_on="region_code", right_index=True, how="left", validate="one_to_one")
    out["hotspot_class"] = out["hotspot_class"].fillna("ns")
    return out[COLUMNS].reset_index(drop=True)


def counts(frame: pd.DataFrame) -> dict[str, int]:
    """Townships per class, every class present (zeros included), in CLASSES order."""
    found = frame["hotspot_class"].value_counts()
    return {c: int(found.get(c, 0)) for c in hotspots.CLASSES}
