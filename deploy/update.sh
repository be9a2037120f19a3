#!/bin/bash
# Updates this app from the next release zip while it serves, in one command (run in the app root,
# e.g. from cPanel's Terminal):
#
#   bash deploy/update.sh ~/passenger-handoff-1.3.0.zip
#
# - Extracts the zip into tmp/ of the app root (the same file system), then renames each changed
#   file over the old one. The running app has the native addon (native/*.node) mapped:
#   overwriting it in place crashes that process (Passenger answers 502), a rename never does.
#   Requests in flight finish on the old process.
# - Keeps the app root's .htaccess (the zip's holds placeholders) and node_modules (the panel's
#   link into the nodevenv); files the new release no longer has are left where they are.
# - When package.json or package-lock.json changed, installs the dependencies as "Run NPM Install"
#   does: npm install --omit=dev in the nodevenv's lib/ (found from the node_modules link), or in
#   the app root without a nodevenv.
# - Restarts the app: tmp/restart.txt (Passenger and LiteSpeed both look at it).
set -euo pipefail

say() { printf '[update] %s\n' "$*"; }
fail() {
  say "FAILED: $*" >&2
  exit 1
}

zip=${1:-}
[ -n "$zip" ] || fail "usage: bash deploy/update.sh <release zip> (run it in the app root)"
[ -f "$zip" ] || fail "no file $zip"
zip=$(cd "$(dirname "$zip")" && pwd -P)/$(basename "$zip")
app_root=${APP_ROOT:-$(cd "$(dirname "$0")/.." && pwd -P)}
[ -f "$app_root/app.js" ] || fail "$app_root holds no app.js: run the deploy/update.sh of the installed app"

mkdir -p "$app_root/tmp"
stage=$(mktemp -d "$app_root/tmp/update.XXXXXX")
trap 'rm -rf "$stage"' EXIT
if command -v unzip >/dev/null; then
  unzip -q "$zip" -d "$stage" || fail "cannot extract $zip (a complete upload, in binary mode?)"
elif command -v python3 >/dev/null; then
  python3 -m zipfile -e "$zip" "$stage" || fail "cannot extract $zip (a complete upload, in binary mode?)"
else
  fail "neither unzip nor python3 is installed to extract $zip: extract it with File Manager into a new folder instead"
fi
[ -f "$stage/app.js" ] && [ -f "$stage/dist/main.js" ] ||
  fail "$zip is not a release of this app (no app.js and dist/main.js at its top): use the zip from \`npm run package\`"

deps_before=$(cat "$app_root/package.json" "$app_root/package-lock.json" 2>/dev/null | sha256sum)
updated=0
while IFS= read -r -d '' file; do
  file=${file#./}
  case "$file" in
    node_modules | node_modules/* | tmp/*) continue ;;
  esac
  target="$app_root/$file"
  # The zip's .htaccess holds placeholders; one already there is the panel's (or yours).
  [ "$file" = .htaccess ] && [ -e "$target" ] && continue
  cmp -s "$stage/$file" "$target" && continue
  mkdir -p "$(dirname "$target")"
  mv -f "$stage/$file" "$target"
  updated=$((updated + 1))
done < <(cd "$stage" && find . -type f -print0)
version=$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$app_root/package.json")
say "$updated file(s) updated in $app_root (version ${version:-unknown})"

if [ "$(cat "$app_root/package.json" "$app_root/package-lock.json" | sha256sum)" != "$deps_before" ]; then
  dir=$app_root
  path_dir=''
  if [ -L "$app_root/node_modules" ]; then
    lib=$(dirname "$(readlink "$app_root/node_modules")")
    dir=$lib
    path_dir=$(dirname "$lib")/bin
    ln -sfn "$app_root/package.json" "$lib/package.json"
    ln -sfn "$app_root/package-lock.json" "$lib/package-lock.json"
  fi
  PATH="${path_dir:+$path_dir:}$PATH"
  command -v npm >/dev/null || fail "the dependencies changed and npm is not on PATH: press Run NPM Install in Setup Node.js App, then Restart"
  say "dependencies changed: npm install --omit=dev in $dir"
  (cd "$dir" && npm install --omit=dev --no-audit --no-fund)
fi

touch "$app_root/tmp/restart.txt"
say "restart requested: $app_root/tmp/restart.txt (the next request starts the new version)"
