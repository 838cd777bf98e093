"""Splink 5 (DuckDB backend) next to our resolver, on the same records and over the same scope.

Three matchers, each scored pairwise against the demo generator's ground truth:

* ours: `resolve_entities` at settings.toml's match probability (blocking, learned weights, scoring, clusters
  under the USCC / judgement / registration / branch constraints, entity ids, explained pairs);
* Splink as it ships: Splink's own connected-components clustering
  (`cluster_pairwise_predictions_at_threshold`) at each of `THRESHOLDS`;
* Splink with our clustering: Splink's scored pairs at each of `THRESHOLDS` through our `clusters.resolve`,
  with the same steward judgements and constraints as ours.

For both Splink variants the threshold with the best pairwise F1 against the truth is reported, per size and
seed: an oracle choice in Splink's favour (ours is not re-tuned per run; its settings were tuned on seed 7).

Scope of every time: the silver columns the resolver reads and the steward judgements, already in memory, to
an xref (record -> entity). Process start, imports and lake I/O are outside it. For Splink it covers building
the record view, loading it into DuckDB, training, blocking, prediction (every pair at least
min(THRESHOLDS) likely) and one clustering at the reported threshold. Each matcher runs in its own fresh
process after the same preparation (imports, then reading silver), because `ru_maxrss` is a lifetime
high-water mark; its peak RSS therefore includes its input and imports, and the RSS at the scope's start is
reported beside it.

The input of Splink is `pipelines.domain.resolution.records.entity_records(...)`: one row per source record
with the cleaned keys our own matcher uses, so the comparison is between the *matchers*, not between two
standardisations.

Splink configuration (see `splink_settings` and the constants below):

* link type `dedupe_only` over the union of the three sources, unique id `rid`. `link_and_dedupe` over three
  tables would score the same candidate pairs (every source also has duplicates within itself: several
  district inspections per shop, duplicate registrations), it only adds a composite id and a
  `source_dataset` column; the union is simpler and keeps one record id for clustering.
* blocking: the rules of our own matcher (settings.toml: name_key; trade_name+road; trade_name+legal_rep;
  phone; legal_rep+road; address_key+district_code; ours keys the person rules on the operator, the legal rep
  or else the name, which Splink's comparisons do not know) plus `uscc`, because Splink has no exact USCC pass in
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
* prediction once; clustering at each threshold of the sweep (both variants reuse the scored pairs).

Run `python -m benchmarks.splink_reference --lake <lake> --truth <ground_truth>` for the side-by-side table
(each matcher in a child process); `--variant ours|splink --json <file>` runs one matcher in this process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from benchmarks import measure
from benchmarks.meter import Meter, Metered
from pipelines.demo.evaluation import resolution_table
from pipelines.domain.contract import ENTITY_SOURCES
from pipelines.domain.corrections import judgements
from pipelines.domain.resolution import clusters
from pipelines.domain.resolution.records import SILVER_COLUMNS, entity_records
from pipelines.domain.resolution.resolve import JUDGEMENT_SCHEMA, judged_pairs, resolve_entities
from pipelines.domain.settings import MatchingSettings, load
from pipelines.storage import catalog
from pipelines.storage.lake import Lake

# Swept for both Splink variants, wide enough that neither best lies on an edge (seed 11). Low ones matter
# with our clustering, whose constraints refuse the wrong links a low threshold lets through (its F1 rose
# from 0.5 down to 0.1); high ones as Splink ships, whose connected components chain more records into one
# entity as the records grow (its F1 still rose from 0.999 to 0.9999 at 1.5M).
THRESHOLDS = (0.01, 0.1, 0.3, 0.5, 0.9, 0.99, 0.999, 0.9999, 0.99999, 0.999999)
SEED = 42  # random sampling for u
U_MAX_PAIRS = 2e6
# Assumed share of true pairs the deterministic rules below find (measured on demo data: ~0.84).
DETERMINISTIC_RECALL = 0.8

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
            cll.CustomLevel(
                "coalesce(branch_marker_l, '') = coalesce(branch_marker_r, '')",
                "same branch marker (or none)",
            ),
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
    """Splink logs at INFO (and warns about untrained levels) through the `splink` logger: raise its level
    for the duration and restore it afterwards."""
    logger = logging.getLogger("splink")
    before = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(before)


class _Clock:
    """Seconds per phase of Splink's work (load, training, blocking, predict)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.seconds[phase] = round(now - self._last, 3)
        self._last = now


def _linker(records: pl.DataFrame) -> tuple[Any, Any]:
    import duckdb
    from splink import DuckDBAPI, Linker

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.register("records_arrow", records.select(INPUT_COLUMNS).to_arrow())
    con.execute("CREATE TABLE splink_records AS SELECT * FROM records_arrow")
    con.unregister("records_arrow")
    db_api = DuckDBAPI(connection=con)
    frame = db_api.register("splink_records", dataset_display_name="records")
    return Linker(frame, splink_settings(), log_level=None), con


def _train(linker: Any, u_max_pairs: float, seed: int) -> dict[str, Any]:
    from splink import block_on

    training = linker.training
    training.estimate_probability_two_random_records_match(
        list(DETERMINISTIC_RULES), recall=DETERMINISTIC_RECALL
    )
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


def _count(frame: Any) -> int:
    return int(frame.as_duckdbpyrelation().aggregate("count(*)").fetchall()[0][0])


def _xref(records: pl.DataFrame, assignment: pl.DataFrame) -> pl.DataFrame:
    """source, record_key, entity_id from (rid, cluster_id); a record in no cluster is its own entity."""
    return (
        records.select("rid", "source", "record_key")
        .join(assignment.select("rid", entity_id=pl.col("cluster_id").cast(pl.String)), on="rid", how="left")
        .with_columns(entity_id=pl.coalesce("entity_id", pl.col("rid").cast(pl.String)))
        .select("source", "record_key", "entity_id")
        .sort("source", "record_key")
    )


def import_splink() -> None:
    """Import what Splink needs before anything is timed (imports are outside every matcher's scope)."""
    import duckdb  # noqa: F401
    import splink.comparison_level_library  # noqa: F401
    import splink.comparison_library  # noqa: F401
    from splink import DuckDBAPI, Linker  # noqa: F401


@dataclass
class Scored:
    """Splink's trained model and the pairs it scored, alive in the DuckDB session of `scored_pairs`."""

    linker: Any
    predictions: Any  # SplinkDataFrame: rid_l, rid_r, match_probability, ...
    n_pairs_scored: int  # blocked pairs Splink compared
    seconds: dict[str, float]  # load, training, blocking, predict
    training: dict[str, Any]

    def pairs(self) -> pl.DataFrame:
        """rid_l, rid_r, match_probability as a polars frame (what our clustering reads)."""
        relation = self.predictions.as_duckdbpyrelation().select("rid_l, rid_r, match_probability")
        return pl.from_arrow(relation.to_arrow_table())


@contextlib.contextmanager
def scored_pairs(
    records: pl.DataFrame, predict_at: float, *, u_max_pairs: float = U_MAX_PAIRS, seed: int = SEED
) -> Iterator[Scored]:
    """Load `records` into DuckDB, train Splink, block and keep every pair at least `predict_at` likely; the
    session stays open (and quiet) until the block ends, so that several clusterings can read the pairs."""
    clock = _Clock()
    with quiet_splink():
        linker, con = _linker(records)
        try:
            clock.lap("load")
            training = _train(linker, u_max_pairs, seed)
            clock.lap("training")
            blocked = linker.inference.compute_blocked_pairs_for_predict()  # cached: predict reuses it
            n_scored = _count(blocked)
            clock.lap("blocking")
            predictions = linker.inference.predict(
                threshold_match_probability=predict_at, warning_mode="never"
            )
            blocked.drop_table_from_database_and_remove_from_cache()
            clock.lap("predict")
            yield Scored(linker, predictions, n_scored, clock.seconds, training)
        finally:
            con.close()


def splink_xref(records: pl.DataFrame, scored: Scored, threshold: float) -> pl.DataFrame:
    """Splink as it ships: connected components of the pairs at least `threshold` likely."""
    found = scored.linker.clustering.cluster_pairwise_predictions_at_threshold(
        scored.predictions, threshold_match_probability=threshold
    )
    assignment = pl.from_arrow(found.as_duckdbpyrelation().select("rid, cluster_id").to_arrow_table())
    # A sweep would otherwise keep one table per threshold in DuckDB's memory.
    found.drop_table_from_database_and_remove_from_cache()
    return _xref(records, assignment)


def with_registrations(pairs: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """Scored pairs with the `registrations` flag our clustering needs (both records are registrations)."""
    registration = records.select("rid", is_registration=pl.col("source") == "registration")
    return (
        pairs.join(registration.rename({"rid": "rid_l", "is_registration": "l"}), on="rid_l")
        .join(registration.rename({"rid": "rid_r", "is_registration": "r"}), on="rid_r")
        .select("rid_l", "rid_r", "match_probability", registrations=pl.col("l") & pl.col("r"))
    )


def constrained_xref(
    records: pl.DataFrame,
    pairs: pl.DataFrame,
    threshold: float,
    judged: tuple[list[tuple[int, int]], list[tuple[int, int]]],
    matching: MatchingSettings,
) -> pl.DataFrame:
    """Splink's pairs at least `threshold` likely through our clustering: steward judgements, shared valid
    USCCs, then links from the most likely down, each refused when it breaks a constraint."""
    accepted = pairs.filter(pl.col("match_probability") >= threshold)
    same, different = judged
    pair_probability = matching.registration_pair_probability
    assignment, _ = clusters.resolve(records, accepted, same, different, pair_probability)
    return _xref(records, assignment.select("rid", cluster_id="cluster"))


@dataclass(frozen=True)
class Silver:
    """The resolver's input: each entity source's silver columns, and the steward judgements."""

    registration: pl.DataFrame
    licensing: pl.DataFrame
    district: pl.DataFrame
    judgements: pl.DataFrame

    def frames(self) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
        return self.registration, self.licensing, self.district

    def records(self) -> pl.DataFrame:
        return entity_records(*self.frames())


def load_silver(lake_root: Path) -> Silver:
    """What the resolution step reads from the lake (the same columns), read before anything is timed."""
    lake = Lake(lake_root, run_id="bench")
    frames = {source: lake.read(catalog.silver(source), SILVER_COLUMNS[source]) for source in ENTITY_SOURCES}
    corrections = lake.read(catalog.CORRECTIONS)
    judged = pl.DataFrame(schema=JUDGEMENT_SCHEMA) if corrections is None else judgements(corrections)
    return Silver(**frames, judgements=judged)


OURS, SHIPPED, CONSTRAINED = "ours", "splink as it ships", "splink + our clustering"
SCOPE = "silver in memory -> xref: "
TIME_INCLUDES = {
    OURS: SCOPE + "record view, blocking, training, scoring, constrained clustering, entity ids, "
    "explained pairs",
    SHIPPED: SCOPE + "record view, DuckDB load, training, blocking, predict, Splink clustering",
    CONSTRAINED: SCOPE + "record view, DuckDB load, training, blocking, predict, pairs to polars, "
    "our clustering",
}


def _timed(work: Callable[..., pl.DataFrame], *args: Any) -> tuple[pl.DataFrame, Metered]:
    meter = Meter()
    return work(*args), meter.stop()


def _scope(*parts: Metered) -> Metered:
    """A scope metered in consecutive parts: their seconds, the RSS when the first began, the peak when the
    last ended."""
    return Metered(sum(p.seconds for p in parts), parts[-1].peak_rss_mb, parts[0].rss_at_start_mb)


def _row(matcher: str, threshold: float, xref: pl.DataFrame, truth: pl.DataFrame, scope: Metered) -> dict:
    """One matcher at one threshold: pairwise scores against the truth, and the scope's time and memory."""
    scores = {r["slice"]: r for r in resolution_table(truth, xref).iter_rows(named=True)}
    overall = scores["all records"]
    return {
        "matcher": matcher, "threshold": threshold,
        "precision": round(overall["precision"], 5), "recall": round(overall["recall"], 5),
        "f1": round(overall["f1"], 5),
        "f1_without_valid_uscc": round(scores["records without a valid USCC"]["f1"], 5),
        "entities": xref["entity_id"].n_unique(), "seconds": round(scope.seconds, 1),
        "peak_rss_mb": round(scope.peak_rss_mb), "rss_at_start_mb": round(scope.rss_at_start_mb),
        "time_includes": TIME_INCLUDES[matcher],
    }  # fmt: skip


def _resolve(silver: Silver, matching: MatchingSettings) -> pl.DataFrame:
    """Our resolver as the pipeline's entity_xref step calls it on a first load (no previous xref)."""
    return resolve_entities(*silver.frames(), silver.judgements, None, 0, matching).xref


def run_ours(silver: Silver, truth: pl.DataFrame, matching: MatchingSettings) -> dict:
    xref, scope = _timed(_resolve, silver, matching)
    return {"rows": [_row(OURS, matching.match_probability, xref, truth, scope)]}


def run_splink(
    silver: Silver, truth: pl.DataFrame, matching: MatchingSettings, thresholds: tuple[float, ...]
) -> dict:
    """Both Splink variants at every threshold, from one trained model and one prediction. A row's time is
    the shared work (record view to scored pairs) plus its own clustering; its peak RSS is the process's
    high-water mark when that clustering ended."""
    import_splink()
    meter = Meter()
    records = silver.records()
    with scored_pairs(records, min(thresholds)) as scored:
        shared = meter.stop()
        rows = []
        for threshold in thresholds:
            xref, own = _timed(splink_xref, records, scored, threshold)
            rows.append(_row(SHIPPED, threshold, xref, truth, _scope(shared, own)))
        meter = Meter()
        pairs = with_registrations(scored.pairs(), records)
        judged = judged_pairs(silver.judgements, records)
        handover = meter.stop()
        for threshold in thresholds:
            xref, own = _timed(constrained_xref, records, pairs, threshold, judged, matching)
            rows.append(_row(CONSTRAINED, threshold, xref, truth, _scope(shared, handover, own)))
        splink = {"pairs_scored": scored.n_pairs_scored, "pairs_predicted": pairs.height,
                  "predict_at": min(thresholds), "seconds": scored.seconds,
                  "training": scored.training}  # fmt: skip
    return {"rows": rows, "splink": splink}


def run_variant(variant: str, lake: Path, truth_dir: Path, thresholds: tuple[float, ...]) -> dict:
    """One side of the comparison in this process: the same preparation (truth, silver, settings), then the
    metered matcher."""
    truth = pl.read_parquet(truth_dir / "records.parquet")
    silver, matching = load_silver(lake), load().matching
    if variant == "ours":
        return run_ours(silver, truth, matching)
    return run_splink(silver, truth, matching, thresholds)


def best(rows: list[dict]) -> pl.DataFrame:
    """Each matcher at its threshold of highest pairwise F1 (the more precise threshold on a tie)."""
    order = {OURS: 0, SHIPPED: 1, CONSTRAINED: 2}
    sweep = pl.DataFrame(rows).sort("f1", "precision", descending=True)
    firsts = sweep.group_by("matcher", maintain_order=True).first()
    return firsts.sort(pl.col("matcher").replace_strict(order))


def compare(lake: Path, truth_dir: Path, folder: Path, thresholds: tuple[float, ...] = THRESHOLDS) -> dict:
    """Ours and both Splink variants, each in a fresh child process; prints the best of each and the sweep."""
    outcome: dict[str, Any] = {"thresholds": list(thresholds), "processes": {}}
    rows: list[dict] = []
    for variant in ("ours", "splink"):
        out = folder / f"matcher_{variant}.json"
        command = [sys.executable, "-m", "benchmarks.splink_reference", "--variant", variant,
                   "--lake", str(lake), "--truth", str(truth_dir), "--json", str(out),
                   "--thresholds", ",".join(map(str, thresholds))]  # fmt: skip
        process = measure.run(command, folder / "logs" / f"matcher_{variant}.log")
        figures = json.loads(out.read_text(encoding="utf-8"))
        rows += figures["rows"]
        outcome["splink"] = figures.get("splink", outcome.get("splink"))
        # The whole child (start, imports, reading the lake, scoring): for reference only.
        outcome["processes"][variant] = {"seconds": round(process.seconds, 1),
                                         "peak_rss_mb": round(process.peak_rss_mb)}  # fmt: skip
    table = best(rows)
    _print(table, pl.DataFrame(rows), outcome["splink"])
    return {**outcome, "best": table.to_dicts(), "sweep": rows}


def _print(table: pl.DataFrame, sweep: pl.DataFrame, splink: dict) -> None:
    layout = {"tbl_rows": 40, "tbl_cols": -1, "tbl_width_chars": 170, "fmt_str_lengths": 30}
    with pl.Config(**layout, tbl_hide_dataframe_shape=True):
        print("\nentity resolution, ours vs Splink 5 (DuckDB, EM-trained) on the same records, equal scope:")
        print(table.drop("time_includes"))
        for matcher, includes in TIME_INCLUDES.items():
            print(f"  {matcher}: {includes}")
        print(
            "  peak RSS: the matcher's process high-water mark (its input and imports included; "
            "rss_at_start_mb is what it held when the timed scope began)"
        )
        print("Splink threshold sweep (the best F1 per variant is reported above):")
        print(sweep.filter(pl.col("matcher") != OURS).drop("time_includes", "rss_at_start_mb"))
        print(f"Splink phases (seconds): {splink['seconds']}; pairs scored {splink['pairs_scored']:,}")


def _thresholds(text: str) -> tuple[float, ...]:
    return tuple(float(t) for t in text.split(","))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.splink_reference",
                                     description=__doc__.splitlines()[0])  # fmt: skip
    parser.add_argument("--lake", type=Path, required=True, help="lake holding silver/<source>")
    parser.add_argument("--truth", type=Path, required=True, help="ground-truth folder (records.parquet)")
    parser.add_argument("--thresholds", type=_thresholds, default=THRESHOLDS, help="comma separated")
    parser.add_argument("--variant", choices=["ours", "splink"], help="run one matcher here; needs --json")
    parser.add_argument("--json", type=Path, help="where --variant writes its figures")
    parser.add_argument("--out", type=Path, help="children's figures, logs (default: beside --lake)")
    args = parser.parse_args(argv)
    if args.variant is None:
        out = args.out or args.lake.parent
        figures = compare(args.lake, args.truth, out, args.thresholds)
        (out / "matchers.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
        return 0
    if args.json is None:
        parser.error("--variant needs --json")
    figures = run_variant(args.variant, args.lake, args.truth, args.thresholds)
    args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    print(pl.DataFrame(figures["rows"]).drop("time_includes"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
