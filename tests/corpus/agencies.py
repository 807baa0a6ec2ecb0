"""Realistic reporting bodies, years and publication dates for generated reports."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

# (province, city, county or None): real places, so names look like the ones scraped.
REGIONS = (
    ("福建省", "厦门市", "湖里区"), ("福建省", "厦门市", "思明区"), ("福建省", "厦门市", "集美区"),
    ("福建省", "厦门市", "海沧区"), ("福建省", "泉州市", "晋江市"), ("福建省", "福州市", "鼓楼区"),
    ("湖北省", "鄂州市", "梁子湖区"), ("湖北省", "鄂州市", "华容区"), ("湖北省", "武汉市", "江夏区"),
    ("浙江省", "杭州市", "西湖区"), ("浙江省", "宁波市", "鄞州区"), ("广东省", "深圳市", "南山区"),
    ("广东省", "广州市", "天河区"), ("江苏省", "苏州市", "吴江区"), ("四川省", "成都市", "武侯区"),
    ("山东省", "青岛市", "黄岛区"), ("河南省", "郑州市", "金水区"), ("安徽省", "合肥市", "蜀山区"),
    ("福建省", "厦门市", None), ("湖北省", "鄂州市", None), ("浙江省", "温州市", None),
)
DEPARTMENTS = (
    "人民政府", "人民政府办公室", "教育局", "财政局", "民政局", "司法局", "行政审批局", "发展和改革局",
    "卫生健康局", "自然资源和规划局", "住房和城乡建设局", "交通运输局", "市场监督管理局", "生态环境局",
    "退役军人事务局", "应急管理局", "农业农村局", "文化和旅游局", "人力资源和社会保障局", "统计局",
    "城市管理局", "医疗保障局", "审计局", "科学技术局",
)
ZONES = ("泉州台商投资区管理委员会", "厦门火炬高技术产业开发区管理委员会", "鄂州葛店经济技术开发区管理委员会")


@dataclass(frozen=True)
class Agency:
    name: str  # as the report's title gives it
    short: str  # as a page header's 发布机构 might give it
    site: str  # the website the page sits on
    host: str  # the government whose portal hosts the page (its chrome names it, not the agency)


def random_agency(rng: random.Random) -> Agency:
    if rng.random() < 0.06:
        name = rng.choice(ZONES)
        return Agency(name, name.replace("管理委员会", "管委会"), name.replace("管理委员会", "门户网站"), name)
    province, city, county = rng.choice(REGIONS)
    dept = rng.choice(DEPARTMENTS)
    local = (county or city) + dept
    prefix = rng.choice((province + city, city, city, city, ""))
    if county is None:
        prefix = rng.choice((province, "", ""))
    name = prefix + (county or city) + dept
    site = (county or city) + "人民政府网"
    # a department's report sits on its government's portal; a district's report often on the city's
    host = city + (county or "") + "人民政府" if dept != "人民政府" or county is None else city + "人民政府"
    return Agency(name, local if rng.random() < 0.7 else dept, site, host)


def random_year(rng: random.Random) -> int:
    return rng.choice((2019, 2020, 2020, 2021, 2021, 2022, 2022, 2023, 2023, 2024))


def published_date(rng: random.Random, year: int) -> dt.date:
    """Reports appear in the first months after the reporting year ends."""
    return dt.date(year + 1, 1, 1) + dt.timedelta(days=rng.randrange(0, 90))
