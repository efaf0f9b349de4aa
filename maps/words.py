"""Numbers and sentences as a district planner writes them, 中文 first, English second.

Residents are rounded to three significant figures (38,000 residents; 1,240 residents), minutes
to one decimal (12.5 min), shares to whole percent (45%; "<1%" and ">99%" at the ends so that
nobody reads "0%" for a few or "100%" for nearly everyone).
"""

from __future__ import annotations

import math

from livingcircle.geo.profiles import Profile
from livingcircle.geo.standards import Category, Requirement, Standard

SEP = " · "


def people(n: float) -> str:
    """Residents as people write them: ``38,000``, ``1,240``, ``85``."""
    if not math.isfinite(n):
        return "–"
    value = round(n)
    if abs(value) >= 1000:
        digits = math.floor(math.log10(abs(value))) - 2
        value = round(value, -digits)
    return f"{value:,}"


def residents(n: float) -> str:
    """``1,240 位居民 · 1,240 residents``."""
    count = people(n)
    return f"{count} 位居民{SEP}{count} resident{'' if count == '1' else 's'}"


def minutes(m: float) -> str:
    """Minutes with one decimal, ``12.5``; a dash when nothing is in reach."""
    return f"{m:.1f}" if math.isfinite(m) else "–"


def percent(share: float) -> str:
    """A share 0..1 as ``45%``, ``<1%``, ``>99%``; a dash when unknown."""
    if not math.isfinite(share):
        return "–"
    pct = 100 * share
    if 0 < pct < 0.5:
        return "<1%"
    if 99.5 <= pct < 100:
        return ">99%"
    return f"{round(pct):d}%"


def metres(m: float) -> str:
    """A distance as ``300 米 · 300 m`` (or ``1.2 公里 · 1.2 km``)."""
    if m >= 1000:
        km = f"{m / 1000:.1f}".rstrip("0").rstrip(".")
        return f"{km} 公里{SEP}{km} km"
    return f"{m:.0f} 米{SEP}{m:.0f} m"


def both(zh: str, en: str) -> str:
    """``中文 · English``."""
    return f"{zh}{SEP}{en}"


def walking(profile: Profile, speed_m_s: float) -> str:
    """``步行方式：老年人 · Walking: Older resident, 0.8 m/s``."""
    return both(
        f"步行方式：{profile.label_zh}，{speed_m_s:g} 米/秒",
        f"Walking: {profile.label_en}, {speed_m_s:g} m/s",
    )


#: What a profile's notes say in Chinese, by their English wording (the notes are English;
#: ``{n}`` is the count a note opens with).
_NOTES_ZH = {
    "no elevation model was loaded": "未载入高程数据：坡度只按街道上标注的坡度计算",
    "facilities tagged wheelchair=no are not reachable": "{n} 处设施标明轮椅无法进入，不计为可达",
    "facilities are tagged wheelchair=no": "{n} 处设施标明轮椅无法进入：出发前请确认",
    "it was loaded before they were kept": "该区域的街道数据缺少路面、路缘等标注：请重新导入",
}


def profile_note(note: str) -> str:
    """A profile's note, 中文 first where it is one of the known kinds, else as given."""
    zh = next((z for key, z in _NOTES_ZH.items() if key in note), "")
    count = note.split(" ", 1)[0] if note[:1].isdigit() else ""
    return both(zh.format(n=count).strip(), note) if zh else note


def category_label(category: Category) -> str:
    """``药店 · Pharmacy``."""
    return both(category.label_zh, category.label_en)


def lower_first(text: str) -> str:
    """``Community health station`` -> ``community health station`` (not ``GB``...)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def no_facility(label_zh: str, label_en: str) -> str:
    """这个区域没有社区卫生服务站 · this region has no community health station."""
    return f"这个区域没有{label_zh}{SEP}this region has no {lower_first(label_en)}"


def missing_requirements(standard: Standard, counts: dict[str, int]) -> list[Requirement]:
    """The standard's requirements no facility of the region can meet (none of any kind)."""
    seen, out = set(), []
    for tier in standard.tiers:
        for req in tier.requirements:
            if req.id not in seen and all(counts.get(c, 0) == 0 for c in req.categories):
                seen.add(req.id)
                out.append(req)
    return out
