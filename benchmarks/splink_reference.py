"""Splink 5 (DuckDB backend) as the reference matcher of the benchmark, on our standardised records.

The input is `pipelines.domain.resolution.records.entity_records(...)`: one row per source record with the
cleaned keys our own matcher uses. Splink sees exactly those columns, so the comparison is between the two
*matchers*, not between two standardisations.

Configuration (see `splink_settings` and the constants below):

* link type `dedupe_only` over the union of the three sources, unique id `rid`. `link_and_dedupe` over three
  tables would score the same candidate pairs (every source also has duplicates within itself: several
  district inspections per shop, duplicate registrations), it only adds a composite id and a
  `source_dataset` column; the union is simpler and keeps one record id for clustering.
* blocking: the rules of our own matcher (settings.toml: name_key; trade_name+road; trade_name+legal_rep;
  phone; legal_rep+road; address_key+district_code) plus `uscc`, because Splink has no exact USCC pass in
  front of it. Splink has no maximum block size, so large blocks (a shared hotline) are scored in full.
* comparisons (levels in order; each also has a null level):
  name_key        exact (term-frequency adjusted) / Levenshtein <= 1 / Jaro-Winkler >= 0.8 / else
  address_key     exact (tf) / Levenshtein <= 1 / Levenshtein <= 3 / Jaro-Winkler >= 0.8 / else
  legal_rep_clean exact (tf) / Levenshtein <= 1 / else      (Chinese personal names: 2-3 characters)
  phone           exact (tf) / else
  district_code   exact / else
  uscc            exact / Damerau-Levenshtein <= 1 and not both valid (a typo) / both valid and different /
                  else
  branch_marker   same (both empty counts as same) / different   (a branch is not its parent)
  Jaro-Winkler on Chinese strings works per code point, which is what we want; Levenshtein is used where a
  one-character typo is the expected variation (short names, codes).
* training: u from random sampling (seeded, `U_MAX_PAIRS` pairs); lambda (probability two random records
  match) from deterministic rules with an assumed recall; then three EM sessions blocked on name_key,
  legal_rep+district and address_key, so every comparison is estimated in at least two sessions
  (a comparison is not trained in a session whose blocking rule uses its column).
* prediction at `threshold`, connected-components clustering at the same threshold. 0.9 was chosen on a
  20k-entity demo (seed 7) by sweeping 0.3-0.9999 (`--sweep`): pairwise F1 is flat (within 0.0003) from 0.7 to
  0.99 and falls off outside; 0.9 sits in the middle of that plateau, on the precision side. A 100k-entity demo
  with another seed showed the same plateau (0.8-0.999).

Run `python -m benchmarks.splink_reference --lake <lake> --truth <ground_truth>` for the figures (wall time per
phase, peak RSS, pairwise P/R/F1), `--sweep` to see F1 over thresholds.
"""

from __future__ import annotations

import contextlib
import logging
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import polars as pl

DEFAULT_THRESHOLD = 0.9
SEED = 42  # random sampling for u
U_MAX_PAIRS = 2e6
DETERMINISTIC_RECALL = 0.8  # assumed share of true pairs the deterministic rules below find (measured on demo data: ~0.84)

# (columns of one equi-join) per blocking rule to generate predictions; the first six are settings.toml's.
PREDICTION_BLOCKING = (
    ("name_key",),
    ("trade_name", "road"),
    ("trade_name", "legal_rep_clean"),
    ("phone",),
    ("legal_rep_clean", "road"),
    ("address_key", "district_code"),
    ("uscc",),
)
EM_BLOCKING = (("name_key",), ("legal_rep_clean", "district_code"), ("address_key",))
DETERMINISTIC_RULES = (
    "l.uscc = r.uscc and l.uscc_is_valid and r.uscc_is_valid",
    "l.name_key = r.name_key and l.legal_rep_clean = r.legal_rep_clean and l.address_key = r.address_key",
)
INPUT_COLUMNS = (
    "rid", "source", "record_key", "uscc", "uscc_is_valid", "name_key", "trade_name", "branch_marker",
    "legal_rep_clean", "address_key", "road", "district_code", "phone",
)  # fmt: skip


@dataclass
class SplinkResult:
    xref: pl.DataFrame  # source, record_key, entity_id (Splink cluster id as string)
    seconds: dict[str, float]  # per phase: load, training, blocking, predict, cluster, total
    settings: dict[str, Any]  # the trained Splink model (settings with m/u) plus our training parameters
    n_pairs_scored: int  # blocked pairs Splink scored
    n_pairs_linked: int  # scored pairs at or above the threshold
    peak_rss_kib: int = 0  # ru_maxrss of this process after the run (KiB on Linux; process-wide high-water mark)
    rss_at_start_kib: int = 0  # ru_maxrss when run_splink started: what the caller had already used
    extra: dict[str, Any] = field(default_factory=dict)


def splink_settings():
    """The Splink `SettingsCreator` (untrained)."""
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    name = cl.CustomComparison(
        output_column_name="name_key",
        comparison_levels=[
            cll.NullLevel("name_key"),
            cll.ExactMatchLevel("name_key", term_frequency_adjustments=True),
            cll.LevenshteinLevel("name_key", 1),
            cll.JaroWinklerLevel("name_key", 0.8),
            cll.ElseLevel(),
        ],
    )
    address = cl.CustomComparison(
        output_column_name="address_key",
        comparison_levels=[
            cll.NullLevel("address_key"),
            cll.ExactMatchLevel("address_key", term_frequency_adjustments=True),
            cll.LevenshteinLevel("address_key", 1),
            cll.LevenshteinLevel("address_key", 3),
            cll.JaroWinklerLevel("address_key", 0.8),
            cll.ElseLevel(),
        ],
    )
    legal_rep = cl.LevenshteinAtThresholds("legal_rep_clean", [1]).configure(term_frequency_adjustments=True)
    phone = cl.ExactMatch("phone").configure(term_frequency_adjustments=True)
    district = cl.ExactMatch("district_code")
    uscc = cl.CustomComparison(
        output_column_name="uscc",
        comparison_levels=[
            cll.NullLevel("uscc"),
            cll.ExactMatchLevel("uscc"),
            cll.CustomLevel(
                "damerau_levenshtein(uscc_l, uscc_r) <= 1 and not (uscc_is_valid_l and uscc_is_valid_r)",
                "one character apart, not both valid (typo)",
            ),
            cll.CustomLevel("uscc_is_valid_l and uscc_is_valid_r", "two different valid codes"),
            cll.ElseLevel(),
        ],
    )
    branch = cl.CustomComparison(
        output_column_name="branch_marker",
        comparison_levels=[
            cll.CustomLevel("coalesce(branch_marker_l, '') = coalesce(branch_marker_r, '')", "same branch marker (or none)"),
            cll.ElseLevel(),
        ],
    )
    return SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="rid",
        comparisons=[name, address, legal_rep, phone, district, uscc, branch],
        blocking_rules_to_generate_predictions=[block_on(*cols) for cols in PREDICTION_BLOCKING],
        additional_columns_to_retain=["uscc_is_valid"],
        retain_intermediate_calculation_columns=False,
        retain_matching_columns=False,
        max_iterations=25,
        em_convergence=1e-4,
    )


@contextlib.contextmanager
def quiet_splink(level: int = logging.ERROR) -> Iterator[None]:
    """Splink logs at INFO (and warns about untrained levels) through the `splink` logger: raise its level for the
    duration and restore it afterwards."""
    logger = logging.getLogger("splink")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


class _Clock:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._start = self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(now - self._last, 3)
        self._last = now

    def total(self) -> None:
        self.seconds["total"] = round(time.perf_counter() - self._start, 3)


def _linker(records: pl.DataFrame, threads: int | None):
    import duckdb
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.register("records_arrow", records.select(INPUT_COLUMNS).to_arrow())
    con.execute("CREATE TABLE splink_records AS SELECT * FROM records_arrow")
    con.unregister("records_arrow")
    db_api = DuckDBAPI(connection=con)
    frame = db_api.register("splink_records", dataset_display_name="records")
    return Linker(frame, splink_settings(), log_level=None), con


def _train(linker, u_max_pairs: float, seed: int) -> dict[str, Any]:
    from splink import block_on

    training = linker.training
    training.estimate_probability_two_random_records_match(list(DETERMINISTIC_RULES), recall=DETERMINISTIC_RECALL)
    training.estimate_u_using_random_sampling(max_pairs=u_max_pairs, seed=seed)
    for cols in EM_BLOCKING:
        training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
    return {
        "u_max_pairs": u_max_pairs,
        "seed": seed,
        "deterministic_rules": list(DETERMINISTIC_RULES),
        "deterministic_recall": DETERMINISTIC_RECALL,
        "em_blocking": [list(cols) for cols in EM_BLOCKING],
    }


def _count(frame) -> int:
    return int(frame.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0])


def _xref(records: pl.DataFrame, clusters: pl.DataFrame) -> pl.DataFrame:
    return (
        records.select("rid", "source", "record_key")
        .join(clusters.select("rid", entity_id=pl.col("cluster_id").cast(pl.String)), on="rid", how="left")
        .with_columns(entity_id=pl.coalesce("entity_id", pl.col("rid").cast(pl.String)))  # unclustered: own entity
        .select("source", "record_key", "entity_id")
        .sort("source", "record_key")
    )


def run_splink(
    records: pl.DataFrame,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    u_max_pairs: float = U_MAX_PAIRS,
    seed: int = SEED,
    threads: int | None = None,
    keep_predictions_above: float | None = None,
) -> SplinkResult:
    """Train Splink on `records`, predict, cluster at `threshold`.

    `keep_predictions_above`: also return the scored pairs at least this likely in `extra["predictions"]`
    (rid_l, rid_r, match_probability), for threshold sweeps; by default nothing beyond the xref is kept.
    """
    predict_at = threshold if keep_predictions_above is None else min(threshold, keep_predictions_above)
    rss_at_start = peak_rss_kib()
    clock = _Clock()
    with quiet_splink():
        linker, con = _linker(records, threads)
        try:
            clock.lap("load")
            training = _train(linker, u_max_pairs, seed)
            clock.lap("training")
            blocked = linker.inference.compute_blocked_pairs_for_predict()
            n_scored = _count(blocked)
            clock.lap("blocking")
            predictions = linker.inference.predict(threshold_match_probability=predict_at, warning_mode="never")
            blocked.drop_table_from_database_and_remove_from_cache()
            clock.lap("predict")
            clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(
                predictions, threshold_match_probability=threshold
            )
            cluster_frame = pl.from_arrow(clusters.as_duckdbpyrelation().select("rid, cluster_id").to_arrow_table())
            xref = _xref(records, cluster_frame)
            clock.lap("cluster")
            linked_rel = predictions.as_duckdbpyrelation()
            n_linked = int(linked_rel.filter(f"match_probability >= {threshold}").aggregate("count(*)").fetchall()[0][0])
            extra: dict[str, Any] = {}
            if keep_predictions_above is not None:
                extra["predictions"] = pl.from_arrow(
                    linked_rel.select("rid_l, rid_r, match_probability").to_arrow_table()
                )
            model = linker.misc.save_model_to_json()
        finally:
            con.close()
    clock.total()
    settings = {"threshold": threshold, "training": training, "model": model}
    return SplinkResult(xref, clock.seconds, settings, n_scored, n_linked, peak_rss_kib(), rss_at_start, extra)


def cluster_at(records: pl.DataFrame, predictions: pl.DataFrame, threshold: float) -> pl.DataFrame:
    """Connected components of `predictions` at `threshold` (polars, for threshold sweeps without re-running
    Splink); same partition as Splink's clustering at that threshold. Returns an xref like `run_splink`."""
    edges = predictions.filter(pl.col("match_probability") >= threshold).select("rid_l", "rid_r")
    label = records.select("rid", cluster_id=pl.col("rid")).sort("rid")
    both = pl.concat([edges, edges.select(rid_l="rid_r", rid_r="rid_l")])
    while True:  # min-label propagation until stable (clusters are small, so few rounds)
        proposal = both.join(label, left_on="rid_r", right_on="rid").group_by("rid_l").agg(proposed=pl.col("cluster_id").min())
        new = (
            label.join(proposal, left_on="rid", right_on="rid_l", how="left")
            .select("rid", cluster_id=pl.min_horizontal("cluster_id", "proposed"))
            .sort("rid")
        )
        if new.equals(label):
            break
        label = new
    return _xref(records, label)


def load_records(lake: str) -> pl.DataFrame:
    from pipelines.domain.resolution.records import entity_records

    tables = {name: pl.read_delta(f"{lake}/silver/{name}") for name in ("registration", "licensing", "district")}
    return entity_records(tables["registration"], tables["licensing"], tables["district"])


def main(argv: list[str] | None = None) -> int:
    import argparse
    import json

    from pipelines.evaluation import resolution_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake directory with silver/registration, licensing, district")
    parser.add_argument("--truth", help="ground truth directory (records.parquet) to score against")
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--sweep", action="store_true", help="also score other thresholds (same trained model)")
    parser.add_argument("--model-out", help="write the trained Splink model (json) here")
    parser.add_argument("--xref-out", help="write the xref (parquet) here")
    parser.add_argument("--json", help="write the figures (json) here, for a benchmark running this in a subprocess")
    args = parser.parse_args(argv)

    records = load_records(args.lake)
    result = run_splink(records, args.threshold, keep_predictions_above=0.3 if args.sweep else None)
    entities = result.xref["entity_id"].n_unique()
    print(f"records {records.height}, pairs scored {result.n_pairs_scored}, linked {result.n_pairs_linked}, entities {entities}")
    print("seconds", result.seconds)
    print(f"peak RSS {result.peak_rss_kib / 1024:.0f} MiB (before Splink: {result.rss_at_start_kib / 1024:.0f} MiB)")
    figures = {
        "records": records.height, "entities": entities, "threshold": args.threshold, "seconds": result.seconds,
        "n_pairs_scored": result.n_pairs_scored, "n_pairs_linked": result.n_pairs_linked,
        "peak_rss_kib": result.peak_rss_kib, "rss_at_start_kib": result.rss_at_start_kib,
    }  # fmt: skip
    if args.model_out:
        with open(args.model_out, "w", encoding="utf-8") as f:
            json.dump(result.settings, f, indent=2, ensure_ascii=False, default=str)
    if args.xref_out:
        result.xref.write_parquet(args.xref_out)
    if args.truth:
        truth = pl.read_parquet(f"{args.truth}/records.parquet")
        table = resolution_table(truth, result.xref)
        figures["resolution"] = table.to_dicts()
        with pl.Config(tbl_rows=20, tbl_width_chars=120):
            print(table)
        if args.sweep:
            rows = []
            for t in (0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99, 0.999, 0.9999):
                overall = resolution_table(truth, cluster_at(records, result.extra["predictions"], t)).row(0, named=True)
                rows.append({"threshold": t, **{k: overall[k] for k in ("precision", "recall", "f1")}})
            figures["sweep"] = rows
            with pl.Config(tbl_rows=20):
                print(pl.DataFrame(rows))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(figures, f, indent=2)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
