#!/usr/bin/env bash
# How long the audit takes to find where the range starts (issue 24 §4):
# a history of 3,000 commits with 184 release tags (as apache/zookeeper has),
# HEAD 56 commits after the last release. The audit with the range given
# and without it differ only by finding the start tag.
#   bench/start-tag.sh [BINARY]      default: target/release/git-policy
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-$PWD/target/release/git-policy}
repo=$(mktemp -d)
trap 'rm -rf "$repo"' EXIT
git init -q -b main "$repo"
python3 bench/make-tagged-history.py 3000 184 | git -C "$repo" fast-import --quiet
git -C "$repo" checkout -q main
cat > "$repo/.git-policy.yml" <<'YAML'
version: 1
tickets:
  jira: { pattern: '\bEPL-[0-9]+\b' }
rules:
  - id: release-page
    on: [release]
    require:
      release_page: { lists_all_tickets: true }
YAML
echo "- EPL-1" > "$repo/page.md"
start=$(git -C "$repo" describe --tags --abbrev=0)
cd "$repo"
hyperfine -N -i -w 2 -r 20 \
  "$bin audit --page page.md" \
  "$bin audit $start..HEAD --page page.md" \
  "git describe --tags"
