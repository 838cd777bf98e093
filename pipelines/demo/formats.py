"""How each file is laid out: format, encoding, date style, header synonyms, column order.

标准不统一 on purpose: every district has its own system (its own headers, encoding, dates, way of naming
itself and numbering records), and the registration and licensing exports vary from file to file.
Header synonyms are taken from `contract.SPECS`; the synonym of column j in a file of variant v is
synonyms[(v + j) % len(synonyms)], so any run of consecutive variants as long as the longest synonym
list uses every synonym.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.domain.contract import SPECS


@dataclass(frozen=True)
class FileStyle:
    fmt: str  # "csv" | "xlsx"
    encoding: str | None  # "utf-8" | "utf-8-sig" | "gb18030"; None for xlsx
    date_style: str
    variant: int
    line_terminator: str = "\n"
    padded_headers: bool = False  # stray spaces around some header texts
    leading: tuple[str, ...] = ()  # canonical columns moved to the front
    omit: tuple[str, ...] = ()  # optional canonical columns this system does not export

    @property
    def full_width_brackets(self) -> bool:
        return self.variant % 2 == 0


@dataclass(frozen=True)
class DistrictStyle:
    file: FileStyle
    region: str  # what the 区县 column says
    record_no: str  # "jc_year" | "plain" | "initials" | "yearmonth"
    initials: str


DISTRICT_STYLES: dict[str, DistrictStyle] = {
    "330203": DistrictStyle(FileStyle("csv", "utf-8-sig", "iso", 0, "\r\n"), "海曙区", "jc_year", "HS"),
    "330205": DistrictStyle(FileStyle("csv", "gb18030", "slash", 1, "\r\n"), "330205", "plain", "JB"),
    "330206": DistrictStyle(
        FileStyle("xlsx", None, "excel", 2, leading=("inspected_on",)), "北仑", "initials", "BL"
    ),
    "330211": DistrictStyle(
        FileStyle("csv", "utf-8", "compact", 3, omit=("penalty_doc_no", "penalty_amount")),
        "镇海区",
        "jc_year",
        "ZH",
    ),
    "330212": DistrictStyle(FileStyle("xlsx", None, "cn", 4), "鄞州区", "yearmonth", "YZ"),
    "330213": DistrictStyle(
        FileStyle("csv", "gb18030", "dot", 5, leading=("name", "uscc")), "奉化区", "plain", "FH"
    ),
    "330225": DistrictStyle(
        FileStyle("csv", "utf-8", "iso_time", 6, omit=("penalty_doc_no", "penalty_amount")),
        "象山县",
        "initials",
        "XS",
    ),
    "330226": DistrictStyle(
        FileStyle("csv", "gb18030", "cn", 7, padded_headers=True), "宁海县", "jc_year", "NH"
    ),
    "330281": DistrictStyle(
        FileStyle("xlsx", None, "excel", 8, leading=("inspected_on", "result")), "余姚", "plain", "YY"
    ),
    "330282": DistrictStyle(FileStyle("csv", "utf-8-sig", "slash_padded", 9), "330282", "yearmonth", "CX"),
}
REGION_TEXT = {code: style.region for code, style in DISTRICT_STYLES.items()}

# Registration: the first delivery comes as four exports, later ones as one incremental file.
REGISTRATION_FIRST = (
    ("reg_enterprise", FileStyle("csv", "utf-8-sig", "iso", 0)),
    ("reg_branch", FileStyle("csv", "utf-8", "slash", 1)),
    ("reg_individual_urban", FileStyle("csv", "utf-8-sig", "compact", 2, "\r\n")),
    ("reg_individual_county", FileStyle("csv", "utf-8", "cn", 3)),
)
LICENSING_FIRST = (
    ("lic_food_business", ("食品经营许可",), FileStyle("csv", "utf-8-sig", "iso", 0)),
    ("lic_food_production", ("食品生产许可", "化妆品生产许可"), FileStyle("csv", "utf-8", "slash", 1)),
    (
        "lic_filings",
        ("仅销售预包装食品备案", "第二类医疗器械经营备案"),
        FileStyle("csv", "utf-8", "compact", 2),
    ),
    ("lic_drug_device", ("药品经营许可", "医疗器械经营许可"), FileStyle("csv", "gb18030", "dot", 3, "\r\n")),
)
_INCREMENTAL_DATES = ("dot", "iso", "slash_padded", "compact", "slash", "cn")


def incremental_style(day: int, xlsx: bool) -> FileStyle:
    """The one file of an incremental registration or licensing delivery."""
    if xlsx:
        return FileStyle("xlsx", None, "excel", 3 + day)
    encoding = "utf-8-sig" if day % 2 else "utf-8"
    return FileStyle("csv", encoding, _INCREMENTAL_DATES[day % len(_INCREMENTAL_DATES)], 3 + day)


def headers(source: str, columns: list[str], style: FileStyle) -> list[str]:
    """The header text of each canonical column in a file of this style."""
    spec = SPECS[source]
    position = {c: j for j, c in enumerate(spec.headers)}
    out = []
    for k, column in enumerate(columns):
        synonyms = spec.headers[column]
        text = synonyms[(style.variant + position[column]) % len(synonyms)]
        if style.full_width_brackets:
            text = text.replace("(", "（").replace(")", "）")
        if style.padded_headers and k % 4 == 1:
            text = f" {text} "
        out.append(text)
    return out


def column_order(columns: tuple[str, ...], style: FileStyle) -> list[str]:
    kept = [c for c in columns if c not in style.omit]
    return [c for c in style.leading if c in kept] + [c for c in kept if c not in style.leading]


def date_text(column: pl.Expr, style: str) -> pl.Expr:
    """A date as the file writes it (text); `excel` keeps the date for a real spreadsheet date cell."""
    formats = {
        "iso": "%Y-%m-%d",
        "slash": "%Y/%-m/%-d",
        "slash_padded": "%Y/%m/%d",
        "dot": "%Y.%m.%d",
        "compact": "%Y%m%d",
        "cn": "%Y年%-m月%-d日",
        "iso_time": "%Y-%m-%d %H:%M:%S",
    }
    if style == "excel":
        return column
    if style == "iso_time":
        return column.cast(pl.Datetime("us")).dt.strftime(formats[style])
    return column.dt.strftime(formats[style])


def record_numbers(frame: pl.DataFrame) -> pl.Series:
    """记录编号 per district: a running number in filing order, written in the district's own style.

    `frame` holds inspections (file_code, inspected_on) in filing order; numbers never repeat in a district.
    """
    numbered = frame.select(
        code=pl.col("file_code"),
        seq=pl.int_range(pl.len()).over("file_code") + 1,
        year=pl.col("inspected_on").dt.year().cast(pl.Utf8),
        month=pl.col("inspected_on").dt.strftime("%Y%m"),
    )
    style = pl.col("code").replace_strict({c: s.record_no for c, s in DISTRICT_STYLES.items()})
    initials = pl.col("code").replace_strict({c: s.initials for c, s in DISTRICT_STYLES.items()})
    seq = pl.col("seq").cast(pl.Utf8)
    text = (
        pl.when(style == "jc_year")
        .then(pl.concat_str([pl.lit("JC"), pl.col("year"), seq.str.zfill(6)]))
        .when(style == "initials")
        .then(pl.concat_str([initials, seq.str.zfill(7)]))
        .when(style == "yearmonth")
        .then(pl.concat_str([pl.col("month"), seq.str.zfill(6)]))
        .otherwise(seq)
    )
    return numbered.select(text.alias("record_no")).to_series()
