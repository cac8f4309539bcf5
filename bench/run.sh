#!/usr/bin/env bash
# Benchmarks git-policy's local checks (see README "Speed").
#   bench/run.sh            build the 100k-commit repository (once) and measure
#   COMMITS=20000 bench/run.sh   a smaller history
# Needs: cargo, git, python3; installs hyperfine and GNU time from Debian when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
commits=${COMMITS:-100000}
work=$root/bench/work
repo=$work/history-$commits

need() { command -v "$1" >/dev/null 2>&1; }
if ! need hyperfine || [ ! -x /usr/bin/time ]; then
  echo "installing hyperfine and time (Debian packages)…" >&2
  apt-get update -qq && apt-get install -y -qq hyperfine time >/dev/null
fi

cargo build --release --quiet
bin=$root/target/release/git-policy

# The released Linux build: static musl, as in the archives, the wheels and the
# action (release.yml). Its start-up differs from the glibc build's (no dynamic
# loader), so the hook is measured both ways. NO_MUSL=1 skips it.
musl=x86_64-unknown-linux-musl
musl_bin=
if [ -z "${NO_MUSL:-}" ] && [ "$(uname -m)" = x86_64 ]; then
  if ! rustup target list --installed 2>/dev/null | grep -qx "$musl" || ! need musl-gcc; then
    echo "installing the musl target (rustup) and musl-tools (Debian), the release build's toolchain…" >&2
    rustup target add "$musl" >/dev/null
    need musl-gcc || { apt-get update -qq && apt-get install -y -qq musl-tools >/dev/null; }
  fi
  CC_x86_64_unknown_linux_musl=musl-gcc cargo build --release --quiet --target "$musl"
  musl_bin=$root/target/$musl/release/git-policy
fi

if [ ! -d "$repo" ]; then
  echo "building $commits commits with git fast-import…" >&2
  git init -q -b main "$repo"
  python3 "$root/bench/make-history.py" "$commits" | git -C "$repo" fast-import --quiet
  git -C "$repo" reset -q --hard main
fi

pattern='\b(EPL|EPLX|SCP)-[0-9]+\b'
policy=$root/bench/policy.yml
msg=$work/COMMIT_EDITMSG
printf 'EPL-123 Retry the login call on timeout\n\n# Please enter the commit message for your changes.\n' > "$msg"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
# The machine is shared: each group of rows says the load it ran under.
load() { echo "   (load average: $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC'))"; }
echo "== git $(git --version | cut -d' ' -f3), $("$bin" --version)"

echo "== check commits and audit over $commits commits vs git log | grep"
load
# The audit's release page lists every ticket the history names (70,001 lines).
page=$work/page-history-$commits.md
{ echo '## Changes'; git -C "$repo" log --format=%B | grep -oE "$pattern" | sort -u | sed 's/^/- /'; } > "$page"
released=()
if [ -n "$musl_bin" ]; then
  released=(-n 'git-policy check commits (human) [static musl: released]' "$musl_bin -C $repo --policy $policy check commits HEAD > /dev/null; test \$? -eq 1")
fi
hyperfine --warmup 1 --runs 10 --export-markdown "$work/commits.md" \
  -n 'git-policy check commits (human)' "$bin -C $repo --policy $policy check commits HEAD > /dev/null; test \$? -eq 1" \
  -n 'git-policy check commits (json)' "$bin -C $repo --policy $policy --format json check commits HEAD > /dev/null; test \$? -eq 1" \
  "${released[@]}" \
  -n 'git-policy audit HEAD' "$bin -C $repo --policy $root/bench/audit-policy.yml audit HEAD --page $page > /dev/null; test \$? -eq 1" \
  -n 'git log | grep -cE' "git -C $repo log --format=%H%n%B | grep -cE '$pattern' > /dev/null"

echo "== peak memory (max RSS), check commits over $commits commits"
/usr/bin/time -f 'git-policy: %M KiB max RSS, %e s' "$bin" -C "$repo" --policy "$policy" check commits HEAD > /dev/null || true
/usr/bin/time -f 'git-policy audit: %M KiB max RSS, %e s' "$bin" -C "$repo" --policy "$root/bench/audit-policy.yml" audit HEAD --page "$page" > /dev/null || true
/usr/bin/time -f 'git log: %M KiB max RSS, %e s' git -C "$repo" log --format=%H%n%B > /dev/null
if [ -n "$musl_bin" ]; then
  /usr/bin/time -f 'git-policy [static musl: released]: %M KiB max RSS, %e s' "$musl_bin" -C "$repo" --policy "$policy" check commits HEAD > /dev/null || true
fi

# Histories packed as servers pack real ones: long messages (make-history.py
# --real), repacked so that most commits are deltas in chains (one pack), the
# same with a commit-graph, and a partial-clone-style pack (a .promisor file
# beside it). Each row beside `git log | grep` on the same repository, in the
# same run; then max RSS of both.
real=$work/real-$commits
if [ ! -d "$real" ]; then
  echo "building $commits commits with long messages…" >&2
  git init -q -b main "$real"
  python3 "$root/bench/make-history.py" "$commits" --real | git -C "$real" fast-import --quiet
  git -C "$real" reset -q --hard main
fi
repacked=$work/repacked-$commits.git
if [ ! -d "$repacked" ]; then
  echo "repacking it as a server would (git repack -adf --depth=50 --window=250; minutes)…" >&2
  git clone -q --bare --no-local "$real" "$repacked.tmp"
  git -C "$repacked.tmp" repack -q -adf --depth=50 --window=250
  mv "$repacked.tmp" "$repacked"
fi
graph=$work/repacked-graph-$commits.git
if [ ! -d "$graph" ]; then
  cp -a "$repacked" "$graph.tmp" && git -C "$graph.tmp" commit-graph write --reachable && mv "$graph.tmp" "$graph"
fi
promisor=$work/repacked-promisor-$commits.git
if [ ! -d "$promisor" ]; then
  cp -a "$repacked" "$promisor.tmp"
  for p in "$promisor.tmp"/objects/pack/*.pack; do : > "${p%.pack}.promisor"; done
  mv "$promisor.tmp" "$promisor"
fi
git verify-pack -v "$repacked"/objects/pack/*.idx | awk '$2 == "commit" { n++; if (NF == 7) { d++; depth += $6 } }
  END { printf "== repacked: %d of %d commits are deltas, chains %.1f deep on average\n", d, n, depth / d }'
for r in "$repacked" "$graph" "$promisor"; do
  name=$(basename "$r" .git)
  echo "== $name: check commits and audit vs git log | grep, same run"
  load
  r_page=$work/page-$name.md
  { echo '## Changes'; git -C "$r" log --format=%B | grep -oE "$pattern" | sort -u | sed 's/^/- /'; } > "$r_page"
  hyperfine --warmup 1 --runs 5 --export-markdown "$work/$name.md" \
    -n "git-policy check commits HEAD (json) [$name]" "$bin -C $r --policy $policy --format json check commits HEAD > /dev/null; test \$? -eq 1" \
    -n "git-policy audit HEAD [$name]" "$bin -C $r --policy $root/bench/audit-policy.yml audit HEAD --page $r_page > /dev/null; test \$? -eq 1" \
    -n "git log | grep -cE [$name]" "git -C $r log --format=%H%n%B HEAD | grep -cE '$pattern' > /dev/null"
  /usr/bin/time -f "  git-policy check commits [$name]: %M KiB max RSS, %e s" "$bin" -C "$r" --policy "$policy" --format json check commits HEAD > /dev/null || true
  /usr/bin/time -f "  git-policy audit [$name]: %M KiB max RSS, %e s" "$bin" -C "$r" --policy "$root/bench/audit-policy.yml" audit HEAD --page "$r_page" > /dev/null || true
  /usr/bin/time -f "  git log [$name]: %M KiB max RSS, %e s" git -C "$r" log --format=%H%n%B HEAD > /dev/null
done

tools=$work/tools
if [ ! -x "$tools/bin/cog" ] || [ ! -x "$tools/bin/committed" ]; then
  echo "installing cocogitto and committed 1.1.11 into $tools (cargo install --root; not project dependencies)…" >&2
  cargo install --quiet --locked --root "$tools" cocogitto
  cargo install --quiet --locked --root "$tools" committed --version 1.1.11
fi
# committed's own Linux release is static musl too (its post-release.yml).
tools_musl=$work/tools-musl
if [ -n "$musl_bin" ] && [ ! -x "$tools_musl/bin/committed" ]; then
  echo "installing committed 1.1.11 built as its release is (static musl) into $tools_musl…" >&2
  CC_x86_64_unknown_linux_musl=musl-gcc cargo install --quiet --locked --root "$tools_musl" \
    committed --version 1.1.11 --target "$musl"
fi
echo "== check commit-msg on one message, whole process, side by side with committed (the same message file)"
load
# A task branch, where the built-in pack accepts the commit (on `main` it is refused: P9).
task=$work/task-repo
if [ ! -d "$task" ]; then
  git init -q -b feature/EPL-123-retry-login "$task"
fi
# The hooks keep the parsed policy in .git/git-policy/ (warm-up runs write it);
# the "first run" rows delete it before every run, as a changed policy would.
# The VM's speed drifts within minutes: the rows run interleaved, in 15 blocks
# of 40 runs each, and each row's median is over all 600 runs.
# -i: with the built-in pack the commit on `main` is refused (P9), exit 1 by design
rows=(
  -n 'git-policy, built-in pack, task branch (passes) [glibc: cargo install]' "$bin -C $task check commit-msg $msg"
  -n 'committed --commit-file 1.1.11, its default rules [glibc: cargo install]' "$tools/bin/committed --commit-file $msg"
  -n 'git-policy, built-in pack, main (refused) [glibc]' "$bin -C $repo check commit-msg $msg"
  -n 'git-policy, one-rule policy [glibc]' "$bin -C $repo --policy $policy check commit-msg $msg"
)
if [ -n "$musl_bin" ]; then
  rows+=(
    -n 'git-policy, built-in pack, task branch (passes) [static musl: released]' "$musl_bin -C $task check commit-msg $msg"
    -n 'committed --commit-file 1.1.11, its default rules [static musl: released]' "$tools_musl/bin/committed --commit-file $msg"
  )
fi
rows+=(-n '/bin/true' /bin/true -n 'git --version' 'git --version')
rm -f "$work"/commit-msg-*.json
for block in $(seq 1 15); do
  hyperfine -N -i --warmup 10 --runs 40 --export-json "$work/commit-msg-$block.json" "${rows[@]}" > /dev/null 2>&1
done
hyperfine -i --warmup 20 --runs 200 --export-json "$work/commit-msg-first.json" \
  --prepare "rm -f $task/.git/git-policy/node-trees" \
  -n 'git-policy, built-in pack, task branch, first run: parses [glibc]' "$bin -C $task check commit-msg $msg" > /dev/null 2>&1
python3 - "$work" <<'PY'
import glob, json, statistics, sys
times = {}
for f in sorted(glob.glob(sys.argv[1] + "/commit-msg-*.json")):
    for r in json.load(open(f))["results"]:
        times.setdefault(r["command"], []).extend(r["times"])
for name, t in times.items():
    print(f"  {name:<77} median {statistics.median(t) * 1000:.2f} ms ({len(t)} runs)")
def ratio(build):
    ours = [k for k in times if k.startswith("git-policy, built-in pack, task branch (passes) [" + build)]
    theirs = [k for k in times if k.startswith("committed") and "[" + build in k]
    if ours and theirs:
        r = statistics.median(times[ours[0]]) / statistics.median(times[theirs[0]])
        print(f"  git-policy / committed, {build} builds: {r:.2f}x")
ratio("glibc")
ratio("static musl")
PY
# Instructions do not move with the VM's load (when valgrind is installed).
if need valgrind; then
  count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 >/dev/null | awk '/refs:/ {print $NF}'; }
  echo "  instructions (callgrind), built-in pack on the task branch · committed:"
  echo "    glibc:       $(count "$bin" -C "$task" check commit-msg "$msg") · $(count "$tools/bin/committed" --commit-file "$msg")"
  if [ -n "$musl_bin" ]; then
    echo "    static musl: $(count "$musl_bin" -C "$task" check commit-msg "$msg") · $(count "$tools_musl/bin/committed" --commit-file "$msg")"
  fi
fi
echo "== check pr: GitHub API round-trips (local server, 250 ms per answer)"
cargo run --quiet --release --example api-rounds -- "$bin"

echo "== check pr: evaluating 3,000 changed paths against 100 globs"
cargo run --quiet --release --example glob-eval

echo "== audit over the whole history, side by side with cocogitto and committed (same range)"
load
root_commit=$(git -C "$repo" rev-list --max-parents=0 HEAD)
page=$work/page.md
# The release page lists every ticket of the history, as a complete page would.
{ echo '## Changes'; git -C "$repo" log --format=%B | grep -oE "$pattern" | sort -u | sed 's/^/- /'; } > "$page"
audit_policy=$root/bench/audit-policy.yml
hyperfine -N -i --warmup 1 --runs 5 --export-markdown "$work/audit.md" \
  -n 'git-policy audit ROOT..HEAD' "$bin -C $repo --policy $audit_policy audit $root_commit..HEAD --page $page" \
  -n 'git-policy audit HEAD' "$bin -C $repo --policy $audit_policy audit HEAD --page $page" \
  -n 'committed ROOT..HEAD' "$tools/bin/committed --work-tree $repo $root_commit..HEAD"
# cocogitto reads the repository of its working directory: a shell is needed to cd.
hyperfine -i --warmup 1 --runs 5 --export-markdown "$work/audit-cog.md" \
  -n 'cog check ROOT..HEAD' "cd $repo && $tools/bin/cog check $root_commit..HEAD > /dev/null 2>&1"
hyperfine --warmup 1 --runs 5 -n 'git log ROOT..HEAD | grep -cE' "git -C $repo log --format=%H%n%B $root_commit..HEAD | grep -cE '$pattern' > /dev/null"
for spec in "$root_commit..HEAD" HEAD; do
  for format in human json; do
    /usr/bin/time -f "git-policy --format $format audit $spec: %M KiB max RSS, %e s" \
      "$bin" -C "$repo" --policy "$audit_policy" --format "$format" audit "$spec" --page "$page" > /dev/null || true
  done
done

echo "== short ranges: a push of 3 commits, a release of 1,000 commits (page listing its tickets)"
load
base=$(git -C "$repo" rev-parse HEAD~1000)
short_page=$work/page-1000.md
{ echo '## Changes'; git -C "$repo" log --format=%B "$base..HEAD" | grep -oE "$pattern" | sort -u | sed 's/^/- /'; } > "$short_page"
hyperfine -N -i --warmup 5 --runs 30 --export-markdown "$work/short.md" \
  -n 'git-policy check commits HEAD~3..HEAD' "$bin -C $repo --policy $policy check commits HEAD~3..HEAD" \
  -n 'git log HEAD~3..HEAD' "git -C $repo log --format=%H%n%B HEAD~3..HEAD" \
  -n 'git-policy audit HEAD~1000..HEAD' "$bin -C $repo --policy $audit_policy audit $base..HEAD --page $short_page" \
  -n 'git log HEAD~1000..HEAD' "git -C $repo log --format=%H%n%B $base..HEAD"

echo "results: $work/commits.md, $work/commit-msg-*.json, $work/audit.md, $work/short.md"
