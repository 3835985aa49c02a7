#!/usr/bin/env bash
# Renders the demo tenant's HTML report in headless Chromium at 1400 and 800 pixels wide,
# for a person to look at, and checks that the page's script rendered the verdict table.
# Installs Debian's chromium when it is missing. Not part of the test suite: CI needs only
# a Rust toolchain.
#   scripts/check-html.sh [OUT_DIR]     (default: target/html-check)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/html-check}
mkdir -p "$out"
out=$(realpath "$out")
command -v chromium >/dev/null || apt-get install -y chromium >/dev/null
cargo run -q -- demo -q --html "$out/report.html"
chrome() {
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" "$@" 2>/dev/null
}
for width in 1400 800; do
  chrome --window-size="$width,3000" --screenshot="$out/report-$width.png" "file://$out/report.html"
  echo "wrote $out/report-$width.png"
done
# The verdict table starts as a "needs JavaScript" row; after the script ran it holds rows.
rows=$(chrome --virtual-time-budget=3000 --dump-dom "file://$out/report.html" | grep -o '<tr><td>' | wc -l)
if [ "$rows" -lt 24 ]; then
  echo "the verdict table did not render ($rows rows)" >&2
  exit 1
fi
echo "the rendered page holds $rows table rows"
