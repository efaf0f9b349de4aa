"""Text a store cannot keep, sent to the real server over HTTP: 422 naming the field, on both
stores, and nothing stored (geo.text is the rule the request models and the stores share)."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from livingcircle.data.embedded import FileStore
from livingcircle.data.postgis import PostgisStore
from livingcircle.geo.keys import new_key
from tests.api.conftest import LAT, LON, assert_problem
from tests.api.test_server import start_server, wait_ready

PATH = "/v1/regions/helsinki/facilities"


@pytest.fixture(scope="module")
def served(
    store_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, dict[str, str]]]:
    """``(base URL, key header)`` of ``livingcircle serve`` over each store with the sample."""
    folder = tmp_path_factory.mktemp("text-served")
    if store_kind == "file":
        shutil.copytree(request.getfixturevalue("sample_store_dir"), folder, dirs_exist_ok=True)
        store: Any = FileStore(folder)
        options: tuple[str, ...] = ()
    else:
        url = request.getfixturevalue("sample_postgis_url")
        store, options = PostgisStore(url), ("--database", url)
    token, record = new_key("health-bureau")
    store.add_api_key(record)
    process, port = start_server(folder, *options)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, base)
        yield base, {"X-API-Key": token}
    finally:
        process.terminate()
        process.communicate(timeout=30)


def body(source_id: str = "text-1", **props: object) -> dict[str, object]:
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [LON, LAT + 0.0002]},
        "properties": {"source_id": source_id, "category": "clinic", "name": "Klinikka", **props},
    }


def post(served: tuple[str, dict[str, str]], raw: str) -> httpx.Response:
    base, key = served
    headers = {**key, "Content-Type": "application/json"}
    return httpx.post(base + PATH, content=raw.encode(), headers=headers, timeout=30)


def stored(served: tuple[str, dict[str, str]], facility_id: str = "health-bureau:text-1") -> bool:
    base, _ = served
    return httpx.get(f"{base}{PATH}/{facility_id}", timeout=30).status_code == 200


# JSON escapes as a client sends them: "\u0000" is a NUL, "\ud800" a lone surrogate (which
# pydantic's JSON parser may refuse itself, naming the field: the store never sees it)
CASES = [
    pytest.param(
        '"tags": {"ph\\u0000one": "1"}', ["tags key", "NUL character (U+0000)"], id="nul-key"
    ),
    pytest.param('"name": "Klin\\u0000ikka"', ["name", "NUL", "position 5"], id="nul-name"),
    pytest.param(
        '"name_en": "Clinic \\ud800"',
        ["name_en", "surrogate (U+D800|unicode string"],
        id="surrogate",
    ),
    pytest.param(
        '"tags": {"phone": "\\udc00"}', ["tags", "surrogate (U+DC00|unicode string"], id="surr-tag"
    ),
    pytest.param(
        '"name": "Klinikka\\u001b[31m"', ["name", "control character (U+001B)"], id="ctrl"
    ),
    pytest.param('"name_zh": "a\\nb"', ["name_zh", "line break (U+000A)"], id="line-break"),
    pytest.param(f'"name": "{"x" * 201}"', ["name", "200"], id="over-long-name"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("field", "words"), CASES)
def test_text_a_store_cannot_keep_is_a_422_naming_the_field(
    served: tuple[str, dict[str, str]], field: str, words: list[str]
) -> None:
    raw = json.dumps(body()).replace('"name": "Klinikka"', field)
    detail = str(assert_problem(post(served, raw), 422)["detail"])
    for word in words:  # a lone surrogate: ours, or pydantic's JSON parser's words
        assert any(w in detail for w in word.split("|")), detail
    assert not stored(served)


@pytest.mark.slow
def test_text_within_the_rule_is_kept_as_sent(served: tuple[str, dict[str, str]]) -> None:
    base, key = served
    sent = body(
        "text-ok",
        name="زهرا\u200cی Klinikka",
        name_zh="社区卫生服务站",
        tags={"description": "Kerros 2\nOvi B", "k" * 255: "v" * 255},
    )
    made = httpx.post(base + PATH, json=sent, headers=key, timeout=30)
    assert made.status_code == 201, made.text
    props = made.json()["properties"]
    assert props["name"] == "زهرا\u200cی Klinikka"
    assert props["tags"] == sent["properties"]["tags"]  # type: ignore[index]
    again = body("text-ok", name="Klinikka\x00")
    changed = httpx.put(f"{base}{PATH}/health-bureau:text-ok", json=again, headers=key, timeout=30)
    assert_problem(changed, 422, "name", "NUL")
    gone = httpx.delete(f"{base}{PATH}/health-bureau:text-ok", headers=key, timeout=30)
    assert gone.status_code == 204
