"""What a failed download or place lookup tells the user: the setting of the server that failed."""

from __future__ import annotations

import socket

import pytest

from livingcircle.data.fetch import OverpassError, area_polygon


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_failed_place_lookup_names_the_nominatim_setting() -> None:
    url = f"http://127.0.0.1:{_closed_port()}/nominatim"
    with pytest.raises(OverpassError, match="LC_NOMINATIM_URL") as caught:
        area_polygon("Haishu District, Ningbo, China", url)
    assert "LC_OVERPASS_URL" not in str(caught.value)
    assert "looking up the place 'Haishu District, Ningbo, China'" in str(caught.value)
