"""A history advanced from the entities whose inputs changed equals the history advanced whole, night after
night: values changed, entities added and gone, issues opened, closed and moved, a night published twice on
one as-of date, compaction."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.domain import history
from pipelines.publishing import incremental, published_history
from pipelines.storage.lake import Lake
from pipelines.storage.maintenance import maintain_table

HISTORY = "gold/test_history"
SQL = f"""{incremental.MARKER}
select golden.entity_id, golden.value, count(issue.issue_id) as open_issues
from gold.golden_entity as golden
left join gold.entity_issue as issue on issue.entity_id = golden.entity_id and issue.status = 'open'
group by all
"""
ENTITIES = [f"E{i}" for i in range(8)]
night = st.fixed_dictionaries(
    {
        "values": st.dictionaries(st.sampled_from(ENTITIES), st.sampled_from(["a", "b", None]), max_size=4),
        "issues": st.dictionaries(
            st.sampled_from(["I1", "I2", "I3"]),
            st.tuples(st.sampled_from(ENTITIES), st.sampled_from(["open", "resolved"])),
            max_size=2,
        ),
        "days": st.sampled_from([0, 1, 1, 2]),  # 0: published again on the same as-of date
        "compact": st.booleans(),
    }
)


def _write(lake: Lake, golden: dict, issues: dict) -> None:
    frame = pl.DataFrame(
        {"entity_id": list(golden), "value": list(golden.values())},
        schema={"entity_id": pl.String, "value": pl.String},
    )
    lake.sync("gold/golden_entity", frame, key=["entity_id"])
    rows = [(issue, entity, status) for issue, (entity, status) in issues.items()]
    lake.sync(
        "gold/entity_issue",
        pl.DataFrame(
            rows, schema={"issue_id": pl.String, "entity_id": pl.String, "status": pl.String}, orient="row"
        ),
        key=["issue_id"],
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(nights=st.lists(night, min_size=2, max_size=6))
def test_advancing_the_changed_entities_equals_advancing_the_whole_history(
    tmp_path_factory, nights: list[dict]
) -> None:
    root: Path = tmp_path_factory.mktemp("lake")
    lake = Lake(root)
    golden = {e: "a" for e in ENTITIES[:4]}
    issues: dict = {"I1": ("E0", "open")}
    expected, as_of, read_by_entity = None, dt.date(2026, 1, 1), []
    for number, change in enumerate(nights):
        for entity, value in change["values"].items():
            if value is None:
                golden.pop(entity, None)
            else:
                golden[entity] = value
        issues.update(change["issues"])
        _write(lake, golden, issues)
        if change["compact"]:
            maintain_table(root / "gold/golden_entity", retention_days=400, target_file_mib=128, run_id="m")
        as_of += dt.timedelta(days=change["days"] if number else 0)
        advanced = published_history.advance(lake, HISTORY, SQL, "entity_id", as_of)
        read_by_entity.append(advanced.entities is not None)
        whole = published_history.published(
            root, SQL, {t: lake.version(t) for t in ("gold/golden_entity", "gold/entity_issue")}
        )
        expected = history.advance(expected, whole, as_of, "entity_id")
        got = lake.read(HISTORY)
        assert got.sort("entity_id", "valid_from").equals(
            expected.select(got.columns).sort("entity_id", "valid_from")
        )
    assert read_by_entity[0] is False and all(read_by_entity[1:])
