#!/usr/bin/env bash
# mypy --strict on the livingcircle package as it is installed: geo/, data/, api/ and maps/
# are mapped into livingcircle/ by setuptools' package-dir, which mypy cannot follow, so a
# tree of links under build/typecheck gives it the installed layout. Arguments: the
# packages to check (default: pyproject's [tool.mypy] packages, the whole livingcircle
# package: geo, data, api, maps and livingcircle/*).
set -euo pipefail
cd "$(dirname "$0")/.."
tree=build/typecheck/livingcircle
rm -rf build/typecheck && mkdir -p "$tree"
for f in livingcircle/*; do ln -s "$PWD/$f" "$tree/"; done
for d in geo data api maps; do ln -s "$PWD/$d" "$tree/$d"; done
cd build/typecheck
args=()
for p in "$@"; do args+=(-p "$p"); done
exec "${MYPY:-mypy}" --config-file ../../pyproject.toml "${args[@]}"
