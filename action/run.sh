#!/usr/bin/env bash
# Runs git-policy for the GitHub Action (action.yml). Inputs arrive as environment
# variables, never as expressions inside the script:
#   GIT_POLICY_ARGS    the command (`check pr`), split into words, never globbed
#   GIT_POLICY_FORMAT  --format
#   GIT_POLICY_POLICY  --policy
# A policy inside $GITHUB_WORKSPACE (this input, `--policy` in `args`, or the
# files a judging command would find there) is refused on every event but
# push, schedule, workflow_dispatch and release: the pull request could choose
# its own policy. Every value echoed is made inert first (`inert`).
#   GIT_POLICY_COMMENT          `check pr --comment=…`: auto, always, never (true/false)
#   GIT_POLICY_REQUEST_REVIEWS  `check pr --request-reviews` when true
set -euo pipefail
set -f # arguments are words, never globs

# An absolute path with symbolic links resolved as far as the path exists.
physical() {
  local path=$1 rest=""
  case "$path" in /*) ;; *) path="$PWD/$path" ;; esac
  while [ ! -e "$path" ] && [ "$path" != / ]; do
    rest="/$(basename "$path")$rest"
    path=$(dirname "$path")
  done
  if [ -d "$path" ]; then
    path=$(cd "$path" && pwd -P)
  else
    path="$(cd "$(dirname "$path")" && pwd -P)/$(basename "$path")"
  fi
  printf '%s%s\n' "${path%/}" "$rest"
}

inside() { # inside PATH DIR
  # `//x` is `/x` to the kernel (and bash's `pwd` keeps a leading `//`).
  local path dir
  path=$(printf '%s' "$1" | tr -s /)
  dir=$(printf '%s' "$2" | tr -s /)
  case "${path%/}/" in "${dir%/}/"*) return 0 ;; esac
  return 1
}

# Whether PATH is DIR or lies below it by the folders' identity (device and
# inode), which a case-insensitive file system's other spelling cannot dodge.
same_or_below() { # same_or_below PATH DIR
  local path
  path=$(physical "$1")
  while [ -n "$path" ]; do
    if [ "$path" -ef "$2" ]; then return 0; fi
    if [ "$path" = / ] || [ "$path" = . ]; then return 1; fi
    path=$(dirname "$path")
  done
  return 1
}

# Whether the policy at PATH could be chosen by what the checkout DIR holds:
# as written, with links resolved, or by identity.
in_checkout() { # in_checkout PATH DIR
  local as_written=$1
  case "$as_written" in /*) ;; *) as_written="$PWD/$as_written" ;; esac
  inside "$as_written" "$2" || inside "$(physical "$1")" "$(physical "$2")" || same_or_below "$1" "$2"
}

# One line that the runner cannot read as a workflow command, whatever the
# value holds: `%`, CR and LF escaped as the runner's own toolkit escapes
# command data (an annotation shows them as written), `##[` broken by a
# zero-width space, other control characters shown as `?`.
inert() {
  local s=$1
  s=${s//'%'/%25}
  s=${s//$'\r'/%0D}
  s=${s//$'\n'/%0A}
  s=${s//'##['/$'#\xe2\x80\x8b#['}
  printf '%s' "$s" | LC_ALL=C tr '\001-\037\177' '?'
}

# Stops before git-policy runs; $1 says what lies inside the checkout.
refuse() {
  echo "::error title=git-policy policy::$(inert "$1") inside the checkout (\$GITHUB_WORKSPACE), which the pull request of a \`$(inert "${GITHUB_EVENT_NAME:-unnamed}")\` event can control: it would choose its own policy. Check the trusted policy out elsewhere (for example actions/checkout with path: into \$RUNNER_TEMP) and point \`policy:\` there, or, for \`check pr\`, leave \`policy:\` empty so that the policy is read from the pull request's base commit." >&2
  exit 2
}

# The command, split into words (never globbed: set -f above).
read -r -a command <<<"${GIT_POLICY_ARGS:-check pr}"

# Every way the command names its policy: the `policy` input, `--policy PATH`
# and `--policy=PATH` anywhere in `args`; without one, the files found in the
# repository of `-C DIR` (else the working directory). The binary reads no
# policy path from the environment.
policies=()
directory=""
subcommand=()
i=0
while [ "$i" -lt "${#command[@]}" ]; do
  word=${command[$i]}
  next=${command[$((i + 1))]:-}
  case "$word" in
    --policy) policies+=("$next"); i=$((i + 1)) ;;
    --policy=*) policies+=("${word#--policy=}") ;;
    -C) directory=$next; i=$((i + 1)) ;;
    -C=*) directory=${word#-C=} ;;
    -C?*) directory=${word#-C} ;;
    --format | --color) i=$((i + 1)) ;;
    -*) ;;
    *) if [ "${#subcommand[@]}" -lt 2 ]; then subcommand+=("$word"); fi ;;
  esac
  i=$((i + 1))
done
if [ -n "${GIT_POLICY_POLICY:-}" ]; then policies+=("$GIT_POLICY_POLICY"); fi

# The checkout is trusted only on events whose workflow file comes from the
# very commit checked out (whoever controls one controls the other). On every
# other event, and when the event is unknown, it may hold a pull request's
# code: `pull_request*`, `merge_group` (the queued pull requests merged),
# `issue_comment`, `workflow_run`, `check_run`, …
case "${GITHUB_EVENT_NAME:-}" in
  push | schedule | workflow_dispatch | release) ;;
  *)
    workspace=${GITHUB_WORKSPACE:-$PWD}
    # (`${a[@]+…}`: an empty array is "unbound" to macOS's bash 3.2 under set -u.)
    for policy in ${policies[@]+"${policies[@]}"}; do
      if in_checkout "$policy" "$workspace"; then refuse "\`policy: $policy\` lies"; fi
    done
    # Without a policy named, the commands that judge the checkout's own
    # history find the policy in it (`check pr` reads the base commit's).
    if [ "${#policies[@]}" -eq 0 ]; then
      case "${subcommand[0]:-}:${subcommand[1]:-}" in
        check:pr | check:) ;;
        check:* | audit:*)
          root=${directory:-.}
          if in_checkout "$root" "$workspace"; then
            refuse "\`${subcommand[*]}\` without \`policy:\` reads the policy found in $root,"
          fi
          ;;
      esac
    fi
    ;;
esac

options=(--format "${GIT_POLICY_FORMAT:-github}")
if [ -n "${GIT_POLICY_POLICY:-}" ]; then
  options+=(--policy "$GIT_POLICY_POLICY")
fi
# The pull request's conversation: only `check pr` writes to it.
if [ "${subcommand[0]:-}" = check ] && [ "${subcommand[1]:-}" = pr ]; then
  case "${GIT_POLICY_COMMENT:-never}" in
    auto | true) command+=(--comment=auto) ;;
    always) command+=(--comment=always) ;;
    never | false) ;;
    *)
      echo "::error title=git-policy comment::the action input \`comment\` must be auto, always or never." >&2
      exit 2
      ;;
  esac
  case "${GIT_POLICY_REQUEST_REVIEWS:-false}" in
    true) command+=(--request-reviews) ;;
    false | '') ;;
    *)
      echo "::error title=git-policy request-reviews::the action input \`request-reviews\` must be true or false." >&2
      exit 2
      ;;
  esac
fi
exec git-policy "${options[@]}" ${command[@]+"${command[@]}"}
