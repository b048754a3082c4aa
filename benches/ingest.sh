#!/usr/bin/env bash
# Mails per second end to end: `triage serve` on a fresh data folder, a seeded Maildir of
# sample mails (`triage sample-maildir`), then `triage ingest --maildir` over it; the worker's
# last line is the figure. Usage: [PORT=50651] benches/ingest.sh [COUNT] [BATCH]  (defaults
# 5000 and 256)
set -euo pipefail
count=${1:-5000}
batch=${2:-256}
cd "$(dirname "$0")/.."
cargo build --release --quiet
triage=target/release/triage
work=$(mktemp -d)
port=${PORT:-50651}
cat > "$work/triage.toml" <<TOML
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:0"
data_dir = "$work/var"
TOML
"$triage" sample-maildir --out "$work/Maildir" --count "$count" --seed 1
RUST_LOG=warn "$triage" serve --config "$work/triage.toml" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
until "$triage" queue --addr "http://127.0.0.1:$port" list >/dev/null 2>&1; do sleep 0.1; done
RUST_LOG=${INGEST_LOG:-warn} "$triage" ingest --maildir "$work/Maildir" --server "http://127.0.0.1:$port" \
  --batch "$batch" --from-address helpdesk@agency.example
