"""Shared by the browser tests of the served pages: Chromium, and the sample's store folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.api.conftest import sample_store_dir  # noqa: F401  (the fixture, shared)
from tests.maps.browser import ARGS, CHROMIUM


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, for one test module."""
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: run 'make browser' (Debian package chromium)")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()
