"""The CJK web font: which unicode-range subsets a page needs, inlined or linked."""

from __future__ import annotations

import re

import pytest

from livingcircle.maps.offline import (
    FONT_URL,
    FONT_WEIGHTS,
    font_css,
    font_path,
    font_subsets,
    text_codepoints,
)


def faces(css: str) -> list[str]:
    return re.findall(r"@font-face\{[^}]*\}", css)


def test_every_weight_has_its_subsets_installed() -> None:
    for weight in FONT_WEIGHTS:
        subsets = font_subsets(weight)
        assert len(subsets) > 90
        assert all(
            font_path(s.file) is not None and font_path(s.file).is_file()  # type: ignore[union-attr]
            for s in subsets
        )
    assert font_path("../../package.json") is None and font_path("400.css") is None


def test_a_page_gets_only_the_subsets_its_text_touches() -> None:
    text = "社区 · community"
    css = font_css(text=text)
    rules = faces(css)
    needed = text_codepoints(text)
    for weight in FONT_WEIGHTS:
        touching = [s for s in font_subsets(weight) if s.touches(needed)]
        assert 2 <= len(touching) < 10
        assert sum(f"font-weight:{weight};" in r for r in rules) == len(touching)
    # every character of the text is in a subset the page carries
    assert all(any(c in s.codes for s in font_subsets(400) if s.touches(needed)) for c in needed)
    assert all("data:font/woff2;base64," in r for r in rules)
    assert "url(/" not in css and "http" not in css


def test_a_latin_only_page_carries_no_chinese_subset() -> None:
    chinese = {s.file for s in font_subsets(400) if s.touches(frozenset({ord("社")}))}
    css = font_css(text="Living circle on foot")
    assert chinese and not any(f in css for f in chinese)


def test_escaped_text_counts_too() -> None:
    # folium writes JSON with \\uXXXX escapes, HTML may use entities; an emoji is a pair
    assert text_codepoints(r'{"name": "\u793e\u533a"} &#x56fd; \ud83d\ude00') >= {
        ord("社"),
        ord("区"),
        ord("国"),
        0x1F600,
    }


@pytest.mark.parametrize("weight", FONT_WEIGHTS)
def test_a_served_page_links_every_subset(weight: int) -> None:
    css = font_css(url=FONT_URL)
    rules = [r for r in faces(css) if f"font-weight:{weight};" in r]
    assert len(rules) == len(font_subsets(weight))
    assert all(f"src:url({FONT_URL}noto-sans-sc-" in r for r in rules)
    assert all("unicode-range:U+" in r for r in rules)
