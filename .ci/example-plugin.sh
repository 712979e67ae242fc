#!/usr/bin/env bash
# The plugin author's path, end to end: a third party's plugin (examples/nefkit-tscore), installed
# next to a built nefkit wheel in a fresh virtualenv, found through its entry point, tested with
# the fixtures nefkit ships, and used from the command line.
#
#   bash .ci/example-plugin.sh /tmp/nefkit-ci-wheel/nefkit-0.1.0-py3-none-any.whl
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then
  echo "usage: $0 NEFKIT_WHEEL" >&2
  exit 2
fi
wheel="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
example="$(cd "$(dirname "$0")/.." && pwd)/examples/nefkit-tscore"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
bin="$work/venv/bin"

# A copy of the example to build from (a build leaves files beside the sources), and an empty
# directory to run in, so that what is imported and tested is what was installed.
mkdir "$work/src" "$work/run"
cp -r "$example/pyproject.toml" "$example/README.md" "$example/nefkit_tscore" "$work/src/"
cp -r "$example/tests" "$example/data.csv" "$work/run/"
cd "$work/run"

# nefkit from the wheel, never from a package index: the wheel is named on the same command line
# as the plugin that depends on it, so pip takes it as the only candidate for "nefkit".
echo "== pip install $(basename "$wheel") examples/nefkit-tscore[test]"
"$bin/pip" install --quiet "$wheel" "$work/src[test]"
"$bin/python" - "$wheel" "$work/venv" <<'EOF'
import sys
import zipfile
from importlib.metadata import distribution
from pathlib import Path

import nefkit
import nefkit_tscore

wheel, venv = sys.argv[1:]
wheel_version = wheel.rsplit("/", 1)[-1].split("-")[1]
assert distribution("nefkit").version == wheel_version, distribution("nefkit").version
assert nefkit.__file__.startswith(venv), f"nefkit imported from {nefkit.__file__}, not the wheel"
with zipfile.ZipFile(wheel) as archive:  # the very files of the wheel, not a namesake
    for name in ("nefkit/__init__.py", "nefkit/plugins.py", "nefkit/testing.py"):
        installed = Path(nefkit.__file__).parent.parent / name
        assert installed.read_bytes() == archive.read(name), f"{name} differs from the wheel's"
assert nefkit_tscore.__file__.startswith(venv), nefkit_tscore.__file__
assert distribution("nefkit-tscore").version == "0.1.0"
print(f"nefkit {nefkit.__version__} (the wheel) and nefkit-tscore 0.1.0 in a fresh venv")
EOF

# Entry points load as they would for any user: no plugin selection from the caller's shell,
# and a plugin that fails to load is an error rather than a warning.
unset NEFKIT_LOAD_PLUGINS NEFKIT_DISABLE_PLUGINS NEFKIT_INSTRUMENTS_PATH
export NEFKIT_STRICT_PLUGINS=1

echo "== the example's own tests (pytest)"
"$bin/pytest" -q -p no:cacheprovider tests

echo "== nefkit plugins --json"
"$bin/nefkit" plugins --json | tee "$work/plugins.json"
"$bin/python" - "$work/plugins.json" <<'EOF'
import json
import sys

plugins = {p["name"]: p for p in json.load(open(sys.argv[1]))}
tscore = plugins["tscore"]
assert tscore["distribution"] == "nefkit-tscore" and tscore["version"] == "0.1.0", tscore
hooks = {"register_instruments", "register_renderers", "register_scoring_rules"}
assert set(tscore["hooks"]) == hooks, tscore
assert tscore["failures"] == [], tscore
EOF

echo "== nefkit show wellbeing-5"
"$bin/nefkit" show wellbeing-5 | tee "$work/show.txt"
grep -q "from nefkit-tscore 0.1.0 (plugin tscore)" "$work/show.txt"
grep -q "t: T-score (rule tscore over 5 items, wb1 … wb5)" "$work/show.txt"

echo "== nefkit validate --check-examples (the definition inside the installed package)"
definition="$("$bin/python" -c 'from importlib.resources import files; print(files("nefkit_tscore") / "definitions" / "wellbeing-5.toml")')"
"$bin/nefkit" validate --check-examples "$definition"

echo "== nefkit score wellbeing-5 data.csv -o out.md"
"$bin/nefkit" score wellbeing-5 data.csv -o "$work/out.md"
cat "$work/out.md"
"$bin/python" - "$work/out.md" <<'EOF'
import sys

lines = [line for line in open(sys.argv[1], encoding="utf-8") if line.startswith("| ")]
header = [cell.strip() for cell in lines[0].strip().strip("|").split(" | ")]
column = header.index("T-score")
t_scores = {}
for line in lines[2:]:
    cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
    if not cells[0].isdigit():
        break  # the change table
    t_scores[int(cells[0])] = cells[column]
# data.csv's row numbers: the T-scores computed by hand from the definition's table
expected = {2: "40", 3: "53", 4: "60", 5: "58 (prorated)", 6: "40", 7: "not scorable", 8: "70"}
assert t_scores == expected, t_scores
print("T-scores as computed by hand:", ", ".join(f"row {r} {t}" for r, t in t_scores.items()))
EOF

echo "example plugin check passed"
