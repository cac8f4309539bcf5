#!/usr/bin/env bash
# Runs git-policy for the GitHub Action (action.yml). Inputs arrive as environment
# variables, never as expressions inside the script:
#   GIT_POLICY_ARGS    the command (`check pr`), split into words, never globbed
#   GIT_POLICY_FORMAT  --format
#   GIT_POLICY_POLICY  --policy; refused on pull request events when it lies inside
#                      $GITHUB_WORKSPACE, where the pull request could choose its own policy
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
  case "${1%/}/" in "${2%/}/"*) return 0 ;; esac
  return 1
}

options=(--format "${GIT_POLICY_FORMAT:-github}")
if [ -n "${GIT_POLICY_POLICY:-}" ]; then
  case "${GITHUB_EVENT_NAME:-}" in
    pull_request | pull_request_target | pull_request_review | pull_request_review_comment)
      workspace=${GITHUB_WORKSPACE:-$PWD}
      as_written=$GIT_POLICY_POLICY
      case "$as_written" in /*) ;; *) as_written="$PWD/$as_written" ;; esac
      if inside "$as_written" "$workspace" || inside "$(physical "$GIT_POLICY_POLICY")" "$(physical "$workspace")"; then
        echo "::error title=git-policy policy::\`policy: $GIT_POLICY_POLICY\` lies inside the checkout (\$GITHUB_WORKSPACE), which a pull request controls: it would choose its own policy. Check the trusted policy out elsewhere (for example actions/checkout with path: into \$RUNNER_TEMP) and point \`policy:\` there, or leave \`policy:\` empty so the policy is read from the pull request's base commit." >&2
        exit 2
      fi
      ;;
  esac
  options+=(--policy "$GIT_POLICY_POLICY")
fi
# The command is split into words (never globbed: set -f above).
read -r -a command <<<"${GIT_POLICY_ARGS:-check pr}"
# The pull request's conversation: only `check pr` writes to it.
if [ "${command[0]:-}" = check ] && [ "${command[1]:-}" = pr ]; then
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
exec git-policy "${options[@]}" "${command[@]}"
