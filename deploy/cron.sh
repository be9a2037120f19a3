#!/bin/bash
# Runs a Node script of this app from cron with the app's Node: the CloudLinux nodevenv that
# "Setup Node.js App" made for it, activated as the panel's own hint does
# (`source ~/nodevenv/<app>/<version>/bin/activate && cd ~/<app>`), so `node` is the version the
# app runs on and the app's node_modules resolve.
#
#   deploy/cron.sh <script> [arguments...]     e.g. in cPanel's Cron Jobs:
#   15 3 * * * /home/me/passenger-handoff/deploy/cron.sh jobs/cleanup.js >> /home/me/cron.log 2>&1
#
# <script> is relative to the app root (or absolute); it runs in the app root with the app's
# environment as cron gives it (cron does not read the panel's Environment variables: set the
# ones a job needs on its crontab line or in the job). The exit status is the script's.
#
# The nodevenv is found from the app root: the folder its node_modules link points into
# (~/nodevenv/<app>/<version>/lib/node_modules), else the only version under ~/nodevenv/<app>;
# NODEVENV=~/nodevenv/<app>/<version> picks one. With no nodevenv (a host without CloudLinux's
# selector) the `node` on PATH runs the script.
set -euo pipefail

say() { printf '[cron] %s\n' "$*" >&2; }
fail() {
  say "FAILED: $*"
  exit 1
}

[ $# -ge 1 ] || fail "usage: deploy/cron.sh <script> [arguments...]"
app_root=${APP_ROOT:-$(cd "$(dirname "$0")/.." && pwd -P)}
script=$1
shift
case "$script" in
  /*) ;;
  *) script="$app_root/$script" ;;
esac
[ -f "$script" ] || fail "no script $script"

nodevenv=${NODEVENV:-}
nodevenv=${nodevenv/#\~/$HOME}
if [ -z "$nodevenv" ] && [ -L "$app_root/node_modules" ]; then
  target=$(readlink "$app_root/node_modules")
  case "$target" in
    */nodevenv/*/lib/node_modules) nodevenv=$(dirname "$(dirname "$target")") ;;
  esac
fi
if [ -z "$nodevenv" ]; then
  home=$(cd "$HOME" && pwd -P)
  shopt -s nullglob
  versions=("$home/nodevenv/${app_root#"$home"/}"/*/bin/activate)
  shopt -u nullglob
  if [ "${#versions[@]}" -eq 1 ]; then
    nodevenv=$(dirname "$(dirname "${versions[0]}")")
  elif [ "${#versions[@]}" -gt 1 ]; then
    fail "several Node versions in ~/nodevenv/${app_root#"$home"/}: set NODEVENV=<one of them> on the crontab line"
  fi
fi

if [ -n "$nodevenv" ]; then
  [ -f "$nodevenv/bin/activate" ] || fail "no $nodevenv/bin/activate: is NODEVENV a nodevenv folder (~/nodevenv/<app>/<version>)?"
  # The activate script is the panel's; it may read unset variables.
  set +u
  # shellcheck disable=SC1091
  source "$nodevenv/bin/activate"
  set -u
fi
command -v node >/dev/null || fail "no node on PATH ($PATH) and no nodevenv for $app_root"
cd "$app_root"
exec node "$script" "$@"
