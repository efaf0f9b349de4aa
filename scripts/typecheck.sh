#!/usr/bin/env bash
# mypy --strict on the livingcircle package as it is installed: geo/, data/, api/ and maps/
# are mapped into livingcircle/ by setuptools' package-dir, which mypy cannot follow, so a
# tree of links gives it the installed layout. Each run builds that tree (and mypy's cache)
# in its own temporary folder, removed when it ends, so runs at the same time do not clash.
# Arguments: the packages to check (default: pyproject's [tool.mypy] packages, the whole
# livingcircle package: geo, data, api, maps and livingcircle/*).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/lc-typecheck.XXXXXX")
trap 'rm -rf "$work"' EXIT
tree=$work/livingcircle
mkdir "$tree"
for f in livingcircle/*; do ln -s "$repo/$f" "$tree/"; done
for d in geo data api maps; do ln -s "$repo/$d" "$tree/$d"; done
cd "$work"
args=()
for p in "$@"; do args+=(-p "$p"); done
"${MYPY:-mypy}" --config-file "$repo/pyproject.toml" "${args[@]}"
