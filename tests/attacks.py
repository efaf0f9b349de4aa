"""Hostile text for every text parameter, id and search: SQL injection, wildcards, NUL, paths.

One list for the store contract and the API tests, so both try the same things.
"""

ATTACKS = [
    "' OR '1'='1",
    "helsinki'; DROP TABLE facilities; --",
    'x" OR 1=1 --',
    "1; DELETE FROM regions",
    "%' OR name LIKE '%",
    "') UNION SELECT name, source FROM regions --",
    "\\'; SELECT pg_sleep(5); --",
    "osm:node/25502063' --",
    "../../etc/passwd",
    "helsinki\x00",
    "%",
    "_",
    "\\",
]
