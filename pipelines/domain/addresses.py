"""Addresses: a normalised string, a comparison key, and the 6-digit district code with where it came from.

District code trust order (the first that names a Ningbo district wins, and `district_code_source` says
which): the address text, the registration authority (登记机关), the district file's code, the USCC's
division code. Legacy divisions map to their successors (江东区 -> 鄞州区).
"""

from __future__ import annotations

import polars as pl

from pipelines.domain import divisions
from pipelines.domain.text import alternation, fold

FULL_NAMES = {d.name: d.code for d in divisions.DIVISIONS} | {
    name: code for name, code in divisions.ALIASES.items() if name.endswith(("区", "市", "县"))
}
ZONE_NAMES = {
    "高新技术产业开发区": "330212",
    "国家高新区": "330212",
    "高新区": "330212",
    "东钱湖": "330212",
    "保税区": "330206",
    "大榭": "330206",
    "杭州湾新区": "330282",
}
SHORT_NAMES = {d.short: d.code for d in divisions.DIVISIONS}
STREETS = divisions.street_index()
CITY_PREFIX = r"^(?:中国)?(?:浙江省|浙江)?(?:宁波市|宁波)?"
# Streets and communities that no table holds (new or renamed 街道, a 社区 or 村 before the road): sources
# write or drop them, so the key drops them by their shape when a road follows (望春街道中山路 -> 中山路).
UNKNOWN_STREET = r"^\p{Han}{2,3}(?:街道|镇|乡)([^路街道巷弄0-9])"
COMMUNITY = r"^\p{Han}{2,4}?(?:社区|村)(\p{Han})"
# A short district name starts a road's name too (鄞州大道): it is a prefix only when no road follows.
NOT_A_ROAD = r"([^大路街巷弄道港广]|$)"


def clean_expr(raw: pl.Expr) -> pl.Expr:
    """Folded address with one way to write a house number (1# / 1號 -> 1号)."""
    return fold(raw).str.replace_all(r"([0-9]+)#", "${1}号").str.replace_all(r"([0-9]+)(幢|栋)", "${1}幢")


def key_expr(clean: pl.Expr) -> pl.Expr:
    """Comparison key: no province/city/district prefix, no 街道/镇/乡 or 社区/村 segment (sources drop
    either)."""
    full = alternation(list(FULL_NAMES))
    short = alternation(list(SHORT_NAMES))
    streets = alternation(list(STREETS))
    return (
        clean.str.replace(CITY_PREFIX, "")
        .str.replace(rf"^{full}", "")
        .str.replace(rf"^{short}({NOT_A_ROAD})", "${1}")
        .str.replace_all(streets, "")
        .str.replace(UNKNOWN_STREET, "${1}")
        .str.replace(COMMUNITY, "${1}")
        .str.replace_all(r"[()]", "")
    )


def _lookup(text: pl.Expr, names: dict[str, str], anchored: bool = False) -> pl.Expr:
    pattern = alternation(list(names))
    found = text.str.extract(rf"{CITY_PREFIX}({pattern}){NOT_A_ROAD}" if anchored else f"({pattern})", 1)
    return found.replace_strict(names, default=None, return_dtype=pl.String)


def district_from_text(clean: pl.Expr) -> pl.Expr:
    """District named by a text: a full division name, else a street or town, else a zone, else a short
    name right after the city prefix (short names also occur inside road names, e.g. 鄞州大道)."""
    return pl.coalesce(
        _lookup(clean, FULL_NAMES),
        _lookup(clean, STREETS),
        _lookup(clean, ZONE_NAMES),
        _lookup(clean, SHORT_NAMES, anchored=True),
    )


def district_from_code(code: pl.Expr) -> pl.Expr:
    """A 6-digit division code (district file name, USCC) as a current Ningbo district, else null."""
    current = {c: c for c in divisions.BY_CODE} | divisions.LEGACY_CODES
    return code.replace_strict(current, default=None, return_dtype=pl.String)


def district_with_source(candidates: dict[str, pl.Expr]) -> tuple[pl.Expr, pl.Expr]:
    """(district_code, district_code_source) from candidates given in order of trust."""
    code = pl.coalesce(list(candidates.values()))
    source = pl.coalesce(
        [pl.when(expr.is_not_null()).then(pl.lit(name)) for name, expr in candidates.items()]
    ).fill_null("none")
    return code, source
