"""Asset metadata helpers: how tables show in the Dagster UI."""

import dagster as dg
import polars as pl


def markdown_table(frame: pl.DataFrame, max_rows: int = 50) -> dg.MetadataValue:
    """A small frame as a markdown table (the UI renders it); longer frames are cut with a note."""
    shown = frame.head(max_rows)
    header = "| " + " | ".join(shown.columns) + " |\n|" + "---|" * shown.width + "\n"
    body = "".join(
        "| "
        + " | ".join("" if v is None else str(v).replace("|", "\\|").replace("\n", " ") for v in row)
        + " |\n"
        for row in shown.iter_rows()
    )
    more = f"\n… {frame.height - max_rows} more rows\n" if frame.height > max_rows else ""
    return dg.MetadataValue.md(header + body + more)
