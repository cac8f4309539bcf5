#!/usr/bin/env bash
# Puts git-policy on PATH for the GitHub Action (action.yml), never an unverified binary.
#
#   install.sh download   a released binary: the archive's SHA-256 must equal the one
#                         pinned in action/checksums.txt beside this script (optionally
#                         its build provenance too, with `gh attestation verify`);
#                         when this action's own version has no release (the action is
#                         used at a branch or commit), sets the step output source=true
#                         so the next step builds it from source.
#   install.sh source     builds this action's source with cargo into a new folder
#                         under $RUNNER_TEMP, then PATH. Never from a cache: a cached
#                         build could not be verified (docs/security.md, "The Action").
#
# Reads RUNNER_OS, RUNNER_ARCH, RUNNER_TEMP, GITHUB_PATH, GITHUB_OUTPUT and
#   GIT_POLICY_VERSION             the `version` input; empty: this action's own version
#   GIT_POLICY_DOWNLOAD_BASE       default https://github.com/<action repo>/releases/download
#   GIT_POLICY_ACTION_REPOSITORY   owner/name of the action (github.action_repository)
#   GIT_POLICY_VERIFY_ATTESTATION  true: also `gh attestation verify` (needs GH_TOKEN)
# Any failure exits non-zero before anything is added to GITHUB_PATH.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
source_root=$(dirname "$here")
checksums="$here/checksums.txt"

# One line that the runner cannot read as a workflow command, whatever the
# value holds (an input, a binary's answer): `%`, CR and LF escaped as the
# runner's toolkit escapes command data, `##[` broken by a zero-width space,
# other control characters shown as `?`.
inert() {
  local s=$1
  s=${s//'%'/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  s=${s//'##['/$'#\xe2\x80\x8b#['}
  printf '%s' "$s" | LC_ALL=C tr '\001-\037\177' '?'
}

# A line of the log, inert.
say() {
  {
    inert "$*"
    echo
  } >&2
}

fail() {
  echo "::error title=git-policy install::$(inert "$*")" >&2
  exit 1
}

: "${RUNNER_TEMP:?RUNNER_TEMP is not set}"
: "${GITHUB_PATH:?GITHUB_PATH is not set}"

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "$1=$2" >> "$GITHUB_OUTPUT"; fi
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

own_version() {
  sed -n 's/^version = "\(.*\)"$/\1/p' "$source_root/Cargo.toml" | head -n 1
}

runner_target() {
  case "${RUNNER_OS:-}-${RUNNER_ARCH:-}" in
    Linux-X64) echo x86_64-unknown-linux-musl ;;
    Linux-ARM64) echo aarch64-unknown-linux-musl ;;
    macOS-X64) echo x86_64-apple-darwin ;;
    macOS-ARM64) echo aarch64-apple-darwin ;;
    Windows-X64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

action_repository() {
  if [ -n "${GIT_POLICY_ACTION_REPOSITORY:-}" ]; then
    echo "$GIT_POLICY_ACTION_REPOSITORY"
    return
  fi
  # Composite actions sometimes see an empty github.action_repository; the runner
  # unpacks actions into …/_actions/<owner>/<name>/<ref>.
  case "$source_root" in
    */_actions/*/*/*)
      local rest=${source_root#*/_actions/}
      echo "${rest%%/*}/$(echo "$rest" | cut -d/ -f2)"
      ;;
  esac
}

# The SHA-256 pinned for <version> <target>, or nothing.
pinned_sha256() {
  [ -f "$checksums" ] || return 0
  while read -r v t s _; do
    case "$v" in '' | '#'*) continue ;; esac
    if [ "$v" = "$1" ] && [ "$t" = "$2" ]; then
      echo "$s" | tr 'A-F' 'a-f'
      return 0
    fi
  done < "$checksums"
}

download() {
  local requested=${GIT_POLICY_VERSION:-}
  requested=${requested#v}
  local version=${requested:-$(own_version)}
  [ -n "$version" ] || fail "cannot tell this action's version from $source_root/Cargo.toml"
  local target
  target=$(runner_target)
  local sha=""
  if [ -n "$target" ]; then sha=$(pinned_sha256 "$version" "$target"); fi

  if [ -z "$sha" ]; then
    if [ -n "$requested" ]; then
      fail "git-policy $requested has no pinned SHA-256 for ${target:-this runner ($RUNNER_OS $RUNNER_ARCH)} in this action's action/checksums.txt: use a version listed there (pin the action to a newer tag or commit for newer versions), or leave \`version\` empty to build the action's own source"
    fi
    echo "::notice title=git-policy::$(inert "no released git-policy $version for ${target:-this runner} at this action's commit: building it from source (pin the action to a release tag to skip the build)")"
    output source true
    return 0
  fi
  case "$sha" in
    *[!0-9a-f]* | '') fail "the pinned SHA-256 for $version $target is malformed: $sha" ;;
  esac
  [ ${#sha} -eq 64 ] || fail "the pinned SHA-256 for $version $target is malformed: $sha"

  local ext=tar.gz exe=""
  case "$target" in *windows*) ext=zip exe=.exe ;; esac
  local asset="git-policy-v$version-$target.$ext"
  local base=${GIT_POLICY_DOWNLOAD_BASE:-}
  if [ -z "$base" ]; then
    local repository
    repository=$(action_repository)
    [ -n "$repository" ] || fail "cannot tell which repository hosts this action: set GIT_POLICY_DOWNLOAD_BASE"
    base="https://github.com/$repository/releases/download"
  fi
  local url="${base%/}/v$version/$asset"

  local work
  work=$(mktemp -d "$RUNNER_TEMP/git-policy-download.XXXXXX")
  say "downloading $url"
  curl --fail --silent --show-error --location --retry 3 --connect-timeout 20 --max-time 300 \
    --output "$work/$asset" "$url" || fail "could not download $url"

  local actual
  actual=$(sha256_of "$work/$asset")
  if [ "$actual" != "$sha" ]; then
    fail "SHA-256 mismatch for $asset: expected $sha (pinned in action/checksums.txt), got $actual; nothing installed"
  fi
  say "verified SHA-256 $actual of $asset"

  if [ "${GIT_POLICY_VERIFY_ATTESTATION:-false}" = true ]; then
    local repository
    repository=$(action_repository)
    [ -n "$repository" ] || fail "cannot tell which repository's attestation to verify"
    gh attestation verify "$work/$asset" --repo "$repository" >&2 \
      || fail "the build provenance of $asset could not be verified for $repository; nothing installed"
  fi

  mkdir "$work/bin"
  case "$ext" in
    zip)
      if command -v unzip >/dev/null 2>&1; then
        unzip -q "$work/$asset" -d "$work/bin" || fail "could not unpack $asset"
      else
        7z x -y -o"$work/bin" "$work/$asset" >/dev/null || fail "could not unpack $asset"
      fi
      ;;
    *) tar -xzf "$work/$asset" -C "$work/bin" || fail "could not unpack $asset" ;;
  esac
  local binary="$work/bin/git-policy$exe"
  [ -f "$binary" ] && [ ! -L "$binary" ] || fail "$asset holds no git-policy$exe at its root"
  chmod +x "$binary"
  local said
  said=$("$binary" --version 2>&1) || fail "the downloaded git-policy does not run: $said"
  case "$said" in
    "git-policy $version" | "git-policy $version "*) ;;
    *) fail "$asset holds \`$said\`, not git-policy $version" ;;
  esac

  local dest="$RUNNER_TEMP/git-policy/bin"
  rm -rf "$dest"
  mkdir -p "$(dirname "$dest")"
  mv "$work/bin" "$dest"
  rm -rf "$work"
  echo "$dest" >> "$GITHUB_PATH"
  output source false
  say "installed $said from $url"
}

source_build() {
  local exe=""
  case "${RUNNER_OS:-}" in Windows) exe=.exe ;; esac
  command -v cargo >/dev/null 2>&1 || fail "building git-policy from source needs cargo (Rust) on the runner"
  # A new folder each time: nothing found on the runner is taken for a build
  # (a cache entry, or a folder an earlier job of a self-hosted runner left).
  local root
  root=$(mktemp -d "$RUNNER_TEMP/git-policy-source.XXXXXX")
  CARGO_TARGET_DIR="$root/target" \
    cargo install --locked --quiet --path "$source_root" --root "$root" \
    || fail "cargo could not build git-policy from $source_root"
  local said
  said=$("$root/bin/git-policy$exe" --version 2>&1) || fail "the git-policy just built does not run: $said"
  say "built $said from this action's source (SHA-256 $(sha256_of "$root/bin/git-policy$exe"))"
  echo "$root/bin" >> "$GITHUB_PATH"
}

case "${1:-}" in
  download) download ;;
  source) source_build ;;
  *) fail "usage: install.sh download|source" ;;
esac
