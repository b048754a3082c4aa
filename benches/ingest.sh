#!/usr/bin/env bash
# The email worker end to end: mails per second and the worker's peak memory (its maximum
# resident set). `triage serve` on a fresh data folder, a seeded Maildir of sample mails
# (`triage sample-maildir`), then `triage ingest --maildir` over it; the last line gives both
# figures. Usage:
#   [PORT=50651] [TRIAGE=path/to/triage] [INGEST_ARGS="--flag value …"] [ATTACHMENT_KIB=64]
#   [SAMPLER=path/to/triage] benches/ingest.sh [COUNT] [BATCH]
# (defaults 5000 and 256; TRIAGE unset builds and uses target/release/triage; ATTACHMENT_KIB
# puts an attachment of that size in every mail, written by SAMPLER, TRIAGE by default).
set -euo pipefail
count=${1:-5000}
batch=${2:-256}
cd "$(dirname "$0")/.."
if [[ -z "${TRIAGE:-}" ]]; then
  cargo build --release --quiet
  triage=target/release/triage
else
  triage=$TRIAGE
fi
work=$(mktemp -d)
port=${PORT:-50651}
cat > "$work/triage.toml" <<TOML
listen = "127.0.0.1:$port"
metrics_listen = "127.0.0.1:0"
http_listen = "127.0.0.1:0"
data_dir = "$work/var"
TOML
sample=(sample-maildir --out "$work/Maildir" --count "$count" --seed 1)
if [[ -n "${ATTACHMENT_KIB:-}" ]]; then sample+=(--attachment-kib "$ATTACHMENT_KIB"); fi
"${SAMPLER:-$triage}" "${sample[@]}" >/dev/null
RUST_LOG=warn "$triage" serve --config "$work/triage.toml" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
until "$triage" queue --addr "http://127.0.0.1:$port" list >/dev/null 2>&1; do sleep 0.1; done
ingest=("$triage" ingest --maildir "$work/Maildir" --server "http://127.0.0.1:$port"
  --batch "$batch" --from-address helpdesk@agency.example)
# shellcheck disable=SC2206 # INGEST_ARGS is a list of flags
ingest+=(${INGEST_ARGS:-})
export RUST_LOG=${INGEST_LOG:-warn}
if /usr/bin/time -f %M true >/dev/null 2>&1; then
  # GNU time: the worker's maximum resident set, in KiB.
  /usr/bin/time -f %M -o "$work/peak_kib" "${ingest[@]}" > "$work/ingest.out"
  peak_kib=$(tail -n 1 "$work/peak_kib")
else
  # Without it: the worker's high-water mark (VmHWM), read from /proc until it exits.
  "${ingest[@]}" > "$work/ingest.out" &
  worker=$!
  peak_kib=0
  while kill -0 "$worker" 2>/dev/null; do
    while read -r key value _; do
      [[ $key == VmHWM: && $value -gt $peak_kib ]] && peak_kib=$value
    done < "/proc/$worker/status" 2>/dev/null || true
    sleep 0.05
  done
  wait "$worker"
fi
cat "$work/ingest.out"
rate=$(grep -o '[0-9]* mails/s' "$work/ingest.out" | tail -n 1)
echo "ingest of $count mails (Maildir $(du -sm "$work/Maildir" | cut -f1) MB): $rate, worker peak RSS $((peak_kib / 1024)) MiB"
