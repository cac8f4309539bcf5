#!/usr/bin/env bash
# Runs every fuzz target for a set time (default 600 s each) with libFuzzer.
#   bash fuzz/run.sh              all targets, 10 minutes each
#   SECONDS_EACH=60 bash fuzz/run.sh policy_load
# Needs cargo-fuzz (installed into fuzz/work/tools when missing). The machine
# has only a stable toolchain: RUSTC_BOOTSTRAP=1 lets cargo-fuzz use the
# sanitizer flags it needs. Corpora grow in fuzz/work/corpus (ignored by git),
# seeded from the project's fixtures; crashes land in fuzz/artifacts.
set -euo pipefail
cd "$(dirname "$0")"
fuzz=$PWD
root=$(cd .. && pwd)
seconds=${SECONDS_EACH:-600}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(policy_load markdown_sections commit_message event_parse)
export RUSTC_BOOTSTRAP=1
tools=$fuzz/work/tools
if ! command -v cargo-fuzz >/dev/null 2>&1 && [ ! -x "$tools/bin/cargo-fuzz" ]; then
  echo "installing cargo-fuzz into $tools…" >&2
  cargo install --quiet --locked --root "$tools" cargo-fuzz
fi
export PATH=$tools/bin:$PATH

# Seed corpora: the project's own policies, pages, messages and events.
corpus=$fuzz/work/corpus
mkdir -p "$corpus"/{policy_load,markdown_sections,commit_message,event_parse}
cp "$root"/policies/*.yml "$root"/fixtures/policies/invalid/*.yml "$root"/bench/*.yml "$corpus/policy_load/"
for f in "$root"/fixtures/pack/*/*.yml; do cp "$f" "$corpus/policy_load/pack-$(basename "$(dirname "$f")")-$(basename "$f")"; done
cp "$root"/docs/*.md "$root"/README.md "$corpus/markdown_sections/"
for f in "$root"/fixtures/pack/*/*.yml; do cp "$f" "$corpus/markdown_sections/pack-$(basename "$(dirname "$f")")-$(basename "$f")"; done
cp "$fuzz"/seeds/commit_message/* "$corpus/commit_message/"
if git -C "$root" rev-parse -q --verify HEAD >/dev/null; then
  i=0
  for sha in $(git -C "$root" rev-list --max-count=40 HEAD); do
    git -C "$root" cat-file commit "$sha" > "$corpus/commit_message/raw-$i"
    git -C "$root" log -1 --format=%B "$sha" > "$corpus/commit_message/msg-$i"
    i=$((i + 1))
  done
fi
cp "$fuzz"/seeds/event_parse/* "$corpus/event_parse/"

cargo fuzz build --release
results=$fuzz/work/results.txt
: > "$results"
status=0
for target in "${targets[@]}"; do
  echo "== $target: ${seconds}s" >&2
  log=$fuzz/work/$target.log
  if cargo fuzz run --release "$target" "$corpus/$target" -- \
      -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 > "$log" 2>&1; then
    outcome="no crash"
  else
    outcome="FAILED (see $log and fuzz/artifacts/$target)"
    status=1
  fi
  runs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$' || echo '?')
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+' || echo '?')
  files=$(find "$corpus/$target" -type f | wc -l)
  echo "$target: $runs executions in ${seconds}s, coverage $cov edges, corpus $files inputs: $outcome" | tee -a "$results"
done
exit $status
