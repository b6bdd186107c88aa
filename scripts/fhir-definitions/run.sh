#!/usr/bin/env bash
# Regenerates Sources/FHIR/Definitions from the FHIR R4 models published on PyPI and the
# official R4 search-parameter Bundle (path in $1, default ../shared/fhir/search-parameters.json).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
bundle=${1:-$root/../shared/fhir/search-parameters.json}
work=$root/.build/fhir-definitions
mkdir -p "$work"
[ -x "$work/r4/bin/python" ] || { python3 -m venv "$work/r4"; "$work/r4/bin/pip" -q install 'fhir.resources==6.1.0' 'pydantic<2'; }
[ -x "$work/r4b/bin/python" ] || { python3 -m venv "$work/r4b"; "$work/r4b/bin/pip" -q install 'fhir.resources==8.3.0'; }
"$work/r4/bin/python" "$here/elements.py" > "$work/r4.json"
"$work/r4b/bin/python" "$here/elements.py" --summary-from-r4b > "$work/r4b.json"
python3 "$here/generate.py" "$work/r4.json" "$work/r4b.json" "$bundle" "$root/Sources/FHIR/Definitions"
