"""A loopback Overpass-compatible server for the tests, answering from an OSM file.

It understands the two queries osmnx sends: the network query
``(way[FILTER](poly:'...');>;);out;`` and the features query of
``(node['key'='value'](poly:'...');(._;>;););`` clauses. Ways are filtered with the
standard's walkable definition (the tests check that the query carried the same filter), and
an element is in the polygon when one of its nodes is. ``mode`` makes it fail: ``"error"``
answers 500, ``"timeout"`` answers too late.
"""

from __future__ import annotations

import ast
import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import numpy as np
import osmium
import shapely
import shapely.geometry

from livingcircle.geo.standards import Standard

_POLY = re.compile(r"poly:'([^']*)'")
_CLAUSE = re.compile(r"\((node|way|relation)\[('(?:[^'\\]|\\.)*')(?:=('(?:[^'\\]|\\.)*'))?\]")


@dataclass
class OsmData:
    """Every node, way and relation of a file."""

    nodes: dict[int, tuple[float, float, dict[str, str]]] = field(default_factory=dict)
    ways: dict[int, tuple[list[int], dict[str, str]]] = field(default_factory=dict)
    relations: dict[int, tuple[list[tuple[str, int, str]], dict[str, str]]] = field(
        default_factory=dict
    )

    @classmethod
    def read(cls, path: Path) -> OsmData:
        data = cls()
        kinds = {"n": "node", "w": "way", "r": "relation"}
        for obj in osmium.FileProcessor(str(path)):
            tags = {t.k: t.v for t in obj.tags}
            if obj.is_node() and obj.location.valid():
                data.nodes[obj.id] = (obj.location.lon, obj.location.lat, tags)
            elif obj.is_way():
                data.ways[obj.id] = ([n.ref for n in obj.nodes], tags)
            elif obj.is_relation():
                data.relations[obj.id] = (
                    [(kinds[m.type], m.ref, m.role) for m in obj.members],
                    tags,
                )
        return data


class OverpassServer:
    """Serves ``data`` on 127.0.0.1 at a free port; ``url`` is what osmnx is given."""

    def __init__(self, data: OsmData, standard: Standard) -> None:
        self.data = data
        self.standard = standard
        self.mode = "ok"
        self.delay_s = 3.0
        self.queries: list[str] = []
        #: place name -> outline, answered at ``nominatim_url`` + ``/search``
        self.places: dict[str, shapely.Polygon] = {}
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._http.server_address[1]}/api"
        self.nominatim_url = f"http://127.0.0.1:{self._http.server_address[1]}/nominatim"
        self._thread = threading.Thread(target=self._http.serve_forever, daemon=True)

    def __enter__(self) -> OverpassServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def answer(self, query: str) -> dict[str, Any]:
        """The Overpass JSON for ``query``."""
        match = _POLY.search(query)
        if match is None:
            raise ValueError(f"no poly: in query {query[:200]!r}")
        numbers = [float(v) for v in match.group(1).split()]
        polygon = shapely.Polygon(list(zip(numbers[1::2], numbers[0::2], strict=True)))
        inside = self._inside(polygon)
        if "(._;>;)" in query:
            return self._features(query, inside)
        return self._network(inside)

    def _inside(self, polygon: shapely.Polygon) -> set[int]:
        ids = np.fromiter(self.data.nodes, dtype=np.int64)
        xy = np.array([self.data.nodes[i][:2] for i in ids])
        return set(ids[shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])].tolist())

    def _network(self, inside: set[int]) -> dict[str, Any]:
        ways = [
            w
            for w, (refs, tags) in self.data.ways.items()
            if self.standard.walkable.is_walkable(tags) and inside.intersection(refs)
        ]
        return self._elements(set(), ways, [])

    def _features(self, query: str, inside: set[int]) -> dict[str, Any]:
        wanted = [
            (kind, ast.literal_eval(key), ast.literal_eval(value) if value else None)
            for kind, key, value in _CLAUSE.findall(query)
        ]

        def hit(kind: str, tags: dict[str, str]) -> bool:
            return any(
                k == kind and key in tags and (value is None or tags[key] == value)
                for k, key, value in wanted
            )

        nodes = {
            n for n, (_, _, tags) in self.data.nodes.items() if n in inside and hit("node", tags)
        }
        ways = [
            w
            for w, (refs, tags) in self.data.ways.items()
            if hit("way", tags) and inside.intersection(refs)
        ]
        relations = [
            r
            for r, (members, tags) in self.data.relations.items()
            if hit("relation", tags) and self._relation_inside(members, inside)
        ]
        return self._elements(nodes, ways, relations)

    def _relation_inside(self, members: list[tuple[str, int, str]], inside: set[int]) -> bool:
        for kind, ref, _ in members:
            if kind == "node" and ref in inside:
                return True
            if (
                kind == "way"
                and ref in self.data.ways
                and inside.intersection(self.data.ways[ref][0])
            ):
                return True
        return False

    def _elements(self, nodes: set[int], ways: list[int], relations: list[int]) -> dict[str, Any]:
        """The elements and everything below them (``>``), as Overpass JSON."""
        way_ids = set(ways)
        for r in relations:
            way_ids |= {
                ref
                for kind, ref, _ in self.data.relations[r][0]
                if kind == "way" and ref in self.data.ways
            }
            nodes |= {ref for kind, ref, _ in self.data.relations[r][0] if kind == "node"}
        for w in way_ids:
            nodes |= set(self.data.ways[w][0])
        elements: list[dict[str, Any]] = []
        for n in sorted(nodes):
            if n in self.data.nodes:
                lon, lat, tags = self.data.nodes[n]
                elements.append(
                    {"type": "node", "id": n, "lat": lat, "lon": lon}
                    | ({"tags": tags} if tags else {})
                )
        for w in sorted(way_ids):
            refs, tags = self.data.ways[w]
            elements.append(
                {"type": "way", "id": w, "nodes": refs} | ({"tags": tags} if tags else {})
            )
        for r in sorted(relations):
            members, tags = self.data.relations[r]
            elements.append(
                {
                    "type": "relation",
                    "id": r,
                    "tags": tags,
                    "members": [
                        {"type": kind, "ref": ref, "role": role} for kind, ref, role in members
                    ],
                }
            )
        return {"version": 0.6, "generator": "livingcircle test server", "elements": elements}

    def search(self, query: str) -> list[dict[str, Any]]:
        """Nominatim's ``/search`` answer: the outline of a known place, or nothing."""
        if query not in self.places:
            return []
        shape = self.places[query]
        w, s, e, n = shape.bounds
        centre = shape.centroid
        return [
            {
                "place_id": 1,
                "osm_type": "relation",
                "osm_id": 1,
                "class": "boundary",
                "type": "administrative",
                "importance": 0.8,
                "display_name": query,
                "lat": str(centre.y),
                "lon": str(centre.x),
                "boundingbox": [str(s), str(n), str(w), str(e)],
                "geojson": shapely.geometry.mapping(shape),
            }
        ]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                query = parse_qs(body.decode("utf-8")).get("data", [""])[0]
                server.queries.append(query)
                if server.mode == "timeout":
                    time.sleep(server.delay_s)
                if server.mode == "error":
                    self._send(500, b"<html>Internal Server Error</html>", "text/html")
                    return
                payload = json.dumps(server.answer(query)).encode("utf-8")
                self._send(200, payload, "application/json")

            def do_GET(self) -> None:
                path, _, params = self.path.partition("?")
                if not path.endswith("/search"):
                    self._send(404, b"not found", "text/plain")
                    return
                query = parse_qs(params).get("q", [""])[0]
                self._send(
                    200, json.dumps(server.search(query)).encode("utf-8"), "application/json"
                )

            def _send(self, status: int, payload: bytes, kind: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", kind)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (the timeout test)

        return Handler
