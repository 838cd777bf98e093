"""Open data, sharing exports, tags and district indices on a real small lake and warehouse.

They read the shared demo run (tests/conftest.py), whose consolidation builds the curated models and then
the sharing assets.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest

from assets import sharing
from pipelines.domain import divisions
from pipelines.orchestration import definitions
from pipelines.orchestration.resources import LakehouseResource
from pipelines.publishing import data_dictionary
from pipelines.storage import paths as paths_module
from tests.conftest import Run, copy_of_run

MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-?[2-9]\d{6,7}(?!\d)")
CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Built:
    paths: paths_module.Paths

    @property
    def open_data(self) -> Path:
        return self.paths.warehouse.parent / data_dictionary.OPEN_DATA

    @property
    def sharing(self) -> Path:
        return self.paths.warehouse.parent / data_dictionary.SHARING

    @property
    def indices(self) -> Path:
        return self.paths.reports / "indices"

    def sql(self, query: str) -> pl.DataFrame:
        with duckdb.connect(str(self.paths.warehouse), read_only=True) as connection:
            return connection.sql(query).pl()

    def exported(self, table: str) -> pl.DataFrame:
        folder = (
            self.open_data
            if data_dictionary.TABLES[table].audience == data_dictionary.OPEN_DATA
            else self.sharing
        )
        return pl.read_parquet(folder / f"{table}.parquet")


@pytest.fixture(scope="session")
def built(pipeline: Run) -> Built:
    """The shared demo run: the consolidation materialises the sharing assets after `curated/warehouse`."""
    return Built(pipeline.paths)


# ------------------------------------------------------------------------------------------ masking


def text_values(frame: pl.DataFrame, skip: frozenset[str]) -> list[tuple[str, str]]:
    out = []
    for column, dtype in frame.schema.items():
        if column in skip or dtype != pl.String:
            continue
        out += [(column, v) for v in frame[column].drop_nulls().to_list()]
    return out


@pytest.mark.parametrize("table", data_dictionary.exported_tables(data_dictionary.OPEN_DATA))
def test_open_data_has_no_unmasked_phone(built: Built, table: str) -> None:
    codes = data_dictionary.TABLES[table].codes
    for source in (built.sql(f"select * from main.{table}"), built.exported(table)):
        leaks = [(c, v) for c, v in text_values(source, codes) if MOBILE.search(v) or LANDLINE.search(v)]
        assert leaks == []


def test_masked_legal_rep_is_never_the_full_name(built: Built) -> None:
    joined = built.exported("open_entity").join(
        built.sql(
            "select entity_id, legal_rep as full_legal_rep, entity_kind as golden_kind from main.golden_entity"
        ),
        on="entity_id",
        how="left",
    )
    masked = joined.filter(pl.col("legal_rep_masked").is_not_null())
    assert masked.height > 300
    assert masked.filter(pl.col("legal_rep_masked") == pl.col("full_legal_rep")).height == 0
    assert masked.filter(~pl.col("legal_rep_masked").str.contains(r"^[^*]{1,2}\*$")).height == 0
    assert (
        masked.filter(
            ~pl.col("full_legal_rep").str.starts_with(pl.col("legal_rep_masked").str.strip_suffix("*"))
        ).height
        == 0
    )
    # organisations with a legal representative are all shown masked, not dropped
    organisations = joined.filter(
        pl.col("golden_kind").is_in(["company", "branch", "cooperative"])
        & pl.col("full_legal_rep").is_not_null()
    )
    assert organisations["legal_rep_masked"].null_count() == 0
    phones = built.exported("open_entity")["phone_masked"].drop_nulls()
    assert phones.len() > 200 and phones.str.contains(r"^(1\d{2}\*{6}\d{2}|0\d{2,3}-\*{7,8}|\*+)$").all()


def test_no_name_in_open_data_is_an_operators_full_name(built: Built) -> None:
    golden = built.sql("select entity_id, legal_rep from main.golden_entity where legal_rep is not null")
    entity = (
        built.exported("open_entity").join(golden, on="entity_id").filter(pl.col("personal_data_withheld"))
    )
    assert entity.filter(pl.col("name").str.contains(pl.col("legal_rep"), literal=True)).height == 0
    licences = built.exported("open_licence").join(golden, on="entity_id", how="left")
    withheld = licences.join(
        built.exported("open_entity").select("entity_id", "personal_data_withheld"),
        on="entity_id",
        how="left",
    )
    withheld = withheld.filter(
        pl.col("personal_data_withheld").fill_null(True) & pl.col("legal_rep").is_not_null()
    )
    assert withheld.filter(pl.col("holder_name").str.contains(pl.col("legal_rep"), literal=True)).height == 0


def test_individuals_have_their_personal_fields_null(built: Built) -> None:
    open_entity, shared_entity = built.exported("open_entity"), built.exported("shared_entity")
    individuals = open_entity.filter(pl.col("entity_kind") == "individual")
    assert individuals.height > 300
    assert (
        individuals.select(pl.col("legal_rep_masked", "phone_masked").null_count()).row(0)
        == (individuals.height,) * 2
    )
    withheld = shared_entity.filter(pl.col("entity_kind").is_null() | (pl.col("entity_kind") == "individual"))
    assert withheld["personal_data_withheld"].all()
    assert withheld.select(pl.col("legal_rep", "phone").null_count()).row(0) == (withheld.height,) * 2


def test_shared_entity_keeps_the_contacts_of_organisations(built: Built) -> None:
    golden = built.sql(
        "select entity_id, entity_kind, trim(legal_rep) as full_legal_rep from main.golden_entity"
    )
    organisations = golden.filter(
        pl.col("entity_kind").is_not_null() & (pl.col("entity_kind") != "individual")
    )
    shared = built.exported("shared_entity").filter(~pl.col("personal_data_withheld"))
    assert sorted(shared["entity_id"]) == sorted(organisations["entity_id"]) and shared.height > 300
    compared = shared.join(golden, on="entity_id")
    assert (compared["legal_rep"] == compared["full_legal_rep"]).all()
    assert shared["phone"].drop_nulls().len() > 200
    assert shared["phone"].drop_nulls().str.contains(r"^(1[3-9]\d{9}|0\d{2,3}-\d{7,8})$").all()


# ------------------------------------------------------------------------------------------ export files


def test_export_files_hold_exactly_the_allow_listed_columns(built: Built) -> None:
    for audience, folder in (
        (data_dictionary.OPEN_DATA, built.open_data),
        (data_dictionary.SHARING, built.sharing),
    ):
        tables = data_dictionary.exported_tables(audience)
        assert sorted(p.name for p in folder.glob("*.parquet")) == sorted(f"{t}.parquet" for t in tables)
        assert list(folder.glob(".*")) == []  # no temporary file left
        for table in tables:
            frame = built.exported(table)
            assert frame.columns == list(data_dictionary.TABLES[table].columns)
            assert frame.height == built.sql(f"select count(*) as n from main.{table}")["n"][0] > 0
            assert [c for c in frame.columns if data_dictionary.FORBIDDEN_COLUMN.search(c)] == []
    assert not (built.open_data / "shared_entity.parquet").exists()  # partner data never in the public folder
    public = {
        c
        for t in data_dictionary.exported_tables(data_dictionary.OPEN_DATA)
        for c in data_dictionary.TABLES[t].columns
    }
    assert {"legal_rep", "phone", "phone_raw", "abnormal_reason", "is_zombie", "issue_count"}.isdisjoint(
        public
    )


def test_the_dictionary_describes_every_exported_column_in_both_languages(built: Built) -> None:
    for audience, folder in (
        (data_dictionary.OPEN_DATA, built.open_data),
        (data_dictionary.SHARING, built.sharing),
    ):
        dictionary = pl.read_csv(
            folder / "data_dictionary.csv", encoding="utf8"
        )  # written with a BOM for Excel
        dictionary = dictionary.rename({dictionary.columns[0]: dictionary.columns[0].lstrip("\ufeff")})
        exported = {
            (t, c) for t in data_dictionary.exported_tables(audience) for c in built.exported(t).columns
        }
        assert set(dictionary.select("table", "column").iter_rows()) == exported
        assert dictionary["description_zh"].str.contains(CJK.pattern).all()
        assert dictionary["description_en"].str.contains(r"[A-Za-z]{3,}").all()
        assert (dictionary["data_type"].str.len_chars() > 0).all()
        markdown = (folder / "data_dictionary.md").read_text(encoding="utf-8")
        assert all(f"## {t}.parquet" in markdown for t in data_dictionary.exported_tables(audience))


def test_no_warehouse_table_or_export_has_an_id_number_column(built: Built) -> None:
    columns = built.sql(
        "select table_name, column_name from information_schema.columns where table_schema = 'main'"
    )
    assert (
        columns.filter(
            pl.col("column_name").map_elements(
                lambda c: bool(data_dictionary.FORBIDDEN_COLUMN.search(c)), return_dtype=pl.Boolean
            )
        ).height
        == 0
    )
    id_number = re.compile(data_dictionary.PERSONAL_PATTERNS["id_number"])
    for table in data_dictionary.exported_tables():
        values = text_values(built.exported(table), data_dictionary.TABLES[table].codes)
        assert [v for _, v in values if id_number.search(v)] == []


def test_files_are_regenerated_each_run(pipeline: Run, tmp_path: Path) -> None:
    copy = Built(copy_of_run(pipeline, tmp_path, pipeline.paths.landing).paths)  # this test writes
    files = [*copy.open_data.iterdir(), *copy.sharing.iterdir(), *copy.indices.iterdir()]
    before = {p: p.stat().st_mtime_ns for p in files}
    result = dg.materialize(
        sharing.sharing_assets,
        resources={"lakehouse": LakehouseResource.from_paths(copy.paths, lock_wait_seconds=0)},
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=True,
    )
    assert result.success
    after = {p: p.stat().st_mtime_ns for p in files}
    assert all(after[p] > before[p] for p in files)
    assert [p for p in (*copy.open_data.iterdir(), *copy.sharing.iterdir()) if p.name.startswith(".")] == []


# ------------------------------------------------------------------------------------------ tags


def test_every_entity_has_one_size_band_primary_industry_and_risk_level(built: Built) -> None:
    tags = built.exported("entity_tag")
    entities = built.sql("select entity_id from main.golden_entity")["entity_id"]
    assert tags.select("entity_id", "tag_type", "tag").is_duplicated().sum() == 0
    for tag_type in ("size_band", "primary_industry", "risk_level"):
        one = tags.filter(pl.col("tag_type") == tag_type)
        assert one.height == entities.len() and one["entity_id"].n_unique() == entities.len(), tag_type
    assert set(tags["tag_type"].unique()) == {
        "industry",
        "primary_industry",
        "size_band",
        "risk_factor",
        "risk_level",
    }
    assert tags.select(pl.col("rule", "evidence", "tag_zh").null_count()).row(0) == (0, 0, 0)
    assert (
        tags.filter(pl.col("tag_type") == "primary_industry", pl.col("tag") == "unclassified").height
        < entities.len() * 0.05
    )


def test_size_bands_follow_registered_capital(built: Built) -> None:
    bands = (
        built.exported("entity_tag")
        .filter(pl.col("tag_type") == "size_band")
        .join(
            built.exported("shared_entity").select("entity_id", "registered_capital_wan", "entity_kind"),
            on="entity_id",
        )
    )
    expected = (
        pl.when(pl.col("registered_capital_wan") >= 10000)
        .then(pl.lit("large"))
        .when(pl.col("registered_capital_wan") >= 1000)
        .then(pl.lit("medium"))
        .when(pl.col("registered_capital_wan") >= 100)
        .then(pl.lit("small"))
        .when(pl.col("registered_capital_wan") > 0)
        .then(pl.lit("micro"))
        .when(pl.col("entity_kind") == "individual")
        .then(pl.lit("micro"))
        .otherwise(pl.lit("unknown"))
    )
    assert bands.filter(pl.col("tag") != expected).height == 0
    assert set(bands["tag"]) >= {"micro", "small", "medium"}


def test_industry_and_risk_tags_follow_their_rules(built: Built) -> None:
    tags = built.exported("entity_tag")
    scopes = built.exported("shared_entity").select("entity_id", "business_scope", "in_abnormal_list")
    catering = scopes.filter(
        pl.col("business_scope").str.replace_all(r"（[^（）]*）|\([^()]*\)", "").str.contains("餐饮")
    )["entity_id"]
    tagged = tags.filter(pl.col("tag_type") == "industry", pl.col("tag") == "catering")["entity_id"]
    assert catering.len() > 20 and set(catering) <= set(tagged)
    abnormal = set(scopes.filter(pl.col("in_abnormal_list"))["entity_id"])
    assert abnormal == set(
        tags.filter(pl.col("tag_type") == "risk_factor", pl.col("tag") == "abnormal_list")["entity_id"]
    )
    points = {"abnormal_list": 2, "penalised": 2, "open_high_issue": 3, "open_medium_issue": 1}
    score = (
        tags.filter(pl.col("tag_type") == "risk_factor")
        .group_by("entity_id")
        .agg(points=pl.col("tag").replace_strict(points).sum())
    )
    levels = (
        tags.filter(pl.col("tag_type") == "risk_level")
        .join(score, on="entity_id", how="left")
        .with_columns(pl.col("points").fill_null(0))
    )
    expected = (
        pl.when(pl.col("points") >= 3)
        .then(pl.lit("high"))
        .when(pl.col("points") >= 1)
        .then(pl.lit("medium"))
        .otherwise(pl.lit("low"))
    )
    assert levels.filter(pl.col("tag") != expected).height == 0
    assert set(levels["tag"]) == {"high", "medium", "low"}
    high_issue = built.sql(
        "select distinct entity_id from main.entity_issue where severity = 'high' and status in ('open', 'confirmed') and entity_id is not null"
    )
    assert set(high_issue["entity_id"]) == set(tags.filter(pl.col("tag") == "open_high_issue")["entity_id"])


# ------------------------------------------------------------------------------------------ indices


def test_indices_are_in_range(built: Built) -> None:
    index = built.exported("district_monthly_index")
    assert index.filter(~pl.col("credit_index").is_between(0, 1)).height == 0
    assert index.filter(~pl.col("vitality_index").is_between(0, 100)).height == 0
    assert index["credit_index"].drop_nulls().len() > index.height * 0.8
    for column in ("entry_rate", "exit_rate"):
        assert (index[column].drop_nulls() >= 0).all()
    assert index.filter(pl.col("entities_with_credit_events") > pl.col("entities_at_month_end")).height == 0
    for part in ("abnormal_listed_entities", "penalised_entities", "high_issue_entities"):
        assert index.filter(pl.col(part) > pl.col("entities_with_credit_events")).height == 0
        assert (index[part] >= 0).all()
    assert (
        index.filter(pl.col("net_growth") != pl.col("new_registrations") - pl.col("deregistrations")).height
        == 0
    )
    # one row per district and month, every month from the first to the as-of month
    assert index.select("district_code", "month").is_duplicated().sum() == 0
    months = index["month"].unique().sort()
    assert months.len() == (months[-1].year - months[0].year) * 12 + months[-1].month - months[0].month + 1
    assert index.filter(pl.col("is_partial_month"))["month"].unique().to_list() == [months[-1]]
    names = dict(index.select("district_code", "district_name").unique().iter_rows())
    assert names == {d.code: d.name for d in divisions.DIVISIONS}


def test_monthly_counts_sum_to_what_happened_in_the_month(built: Built) -> None:
    index = built.exported("district_monthly_index")
    established = built.sql(
        """select district_code, cast(date_trunc('month', established_on) as date) as month, count(*) as expected
           from main.golden_entity where established_on is not null group by all"""
    )
    compared = established.join(
        index.select("district_code", "month", "new_registrations"),
        on=["district_code", "month"],
        how="full",
        coalesce=True,
    )
    compared = compared.with_columns(pl.col("expected", "new_registrations").fill_null(0))
    assert compared.filter(pl.col("expected") != pl.col("new_registrations")).height == 0
    assert (
        index["new_registrations"].sum()
        == built.sql("select count(established_on) as n from main.golden_entity")["n"][0]
    )
    licences = built.sql("select count(*) as n from main.licence_fact where issued_on is not null")["n"][0]
    assert index["licences_issued"].sum() == licences
    latest = index.filter(pl.col("is_partial_month")).select("district_code", "entities_at_month_end")
    active = built.sql(
        "select district_code, count(*) as active from main.golden_entity where status = 'active' group by all"
    )
    # every active entity is in the stock; so is an entity that left without a date (none in the demo)
    assert (
        latest.join(active, on="district_code")
        .filter(pl.col("entities_at_month_end") != pl.col("active"))
        .height
        == 0
    )


def test_the_latest_credit_index_agrees_with_the_risk_tags(built: Built) -> None:
    index = built.exported("district_monthly_index").filter(pl.col("is_partial_month"))
    flagged = (
        built.exported("entity_tag")
        .filter(
            pl.col("tag_type") == "risk_factor",
            pl.col("tag").is_in(["abnormal_list", "penalised", "open_high_issue"]),
        )["entity_id"]
        .unique()
    )
    active = built.sql("select entity_id, district_code from main.golden_entity where status = 'active'")
    expected = active.group_by("district_code").agg(
        stock=pl.len(), flagged=pl.col("entity_id").is_in(flagged.implode()).sum()
    )
    compared = index.join(expected, on="district_code")
    assert compared.height == 10
    assert compared.filter(pl.col("entities_with_credit_events") != pl.col("flagged")).height == 0
    assert (
        compared.filter(
            (pl.col("credit_index") - (1 - pl.col("flagged") / pl.col("stock"))).abs() > 1e-6
        ).height
        == 0
    )


def test_index_charts_and_page_are_in_the_report(built: Built) -> None:
    for name in ("vitality_index.png", "credit_index.png"):
        data = (built.indices / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 10_000
    page = (built.indices / "index.html").read_text(encoding="utf-8")
    assert 'src="vitality_index.png"' in page and 'src="credit_index.png"' in page and "景气指数" in page


# ------------------------------------------------------------------------------------------ wiring


def test_sharing_assets_run_after_the_warehouse_is_published(tmp_path: Path) -> None:
    locations = paths_module.resolve(
        landing=tmp_path / "l",
        lake=tmp_path / "k",
        warehouse=tmp_path / "w.duckdb",
        dagster_home=tmp_path / "h",
    )
    base = definitions.build(locations)
    merged = dg.Definitions.merge(
        base, dg.Definitions(assets=[a for a in sharing.sharing_assets if a not in (base.assets or [])])
    )
    graph = merged.resolve_asset_graph()
    for asset in sharing.sharing_assets:
        key = asset.key
        assert dg.AssetKey(["curated", "warehouse"]) in graph.get(key).parent_keys
        assert key.path[0] == "reports"  # the code location's layers stay bronze/silver/gold/curated/reports
    job = merged.resolve_job_def("consolidate_job")
    assert {a.key for a in sharing.sharing_assets} <= set(job.asset_layer.selected_asset_keys)
    for table in data_dictionary.TABLES:
        assert dg.AssetKey(["curated", table]) in graph.get(dg.AssetKey(["curated", "warehouse"])).parent_keys
