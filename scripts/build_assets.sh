#!/usr/bin/env bash
# Vendor the front-end packages the pages ship, from the npm registry at pinned
# versions, into src/launchpad_web/pages/static/vendor/ (committed: the app never
# fetches anything from a CDN and works offline). Run after changing a version.
set -euo pipefail
cd "$(dirname "$0")/.."

SWAGGER_UI_DIST=5.36.0
vendor=src/launchpad_web/pages/static/vendor
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

(cd "$work" && npm pack --silent "swagger-ui-dist@$SWAGGER_UI_DIST" >/dev/null && tar -xzf ./*.tgz)
mkdir -p "$vendor"
# The bundle without its source-map comment: the map is not shipped.
sed '/^\/\/# sourceMappingURL=/d' "$work/package/swagger-ui-bundle.js" > "$vendor/swagger-ui-bundle.js"
sed 's|/\*# sourceMappingURL=[^*]*\*/||' "$work/package/swagger-ui.css" > "$vendor/swagger-ui.css"
cp "$work/package/LICENSE" "$vendor/swagger-ui.LICENSE"
echo "swagger-ui-dist $SWAGGER_UI_DIST -> $vendor"
# The builder's editor: CodeMirror 6 pinned by frontend/package-lock.json, bundled
# by esbuild (tests/web/test_editor_bundle.py checks the result is this build).
(cd frontend && npm ci --ignore-scripts --no-audit --no-fund && python3 build.py)
ls -l "$vendor"
