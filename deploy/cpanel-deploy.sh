#!/bin/bash
# Run by .cpanel.yml after a push to cPanel's Git Version Control (usage: cpanel-deploy.sh <app root>).
# Copies this checkout (the `deploy` branch that `npm run deploy:branch` makes: the built app, native
# binary included) into the app root, installs the runtime dependencies when package.json or
# package-lock.json changed, and restarts the app through tmp/restart.txt.
#
# - Never writes into the repository: cPanel deploys only from a clean working tree.
# - Never touches the app root's node_modules, the panel's link into ~/nodevenv/<app>/<version>/lib.
# - Every file is written beside its target and renamed over it: the running app has the native
#   addon mapped, and overwriting it in place crashes that process (Passenger answers 502).
# - Files an earlier deploy put there and this one no longer has are removed (list: .deployed-files).
# - An .htaccess already in the app root is kept: the bundle's holds placeholders.
# - Dependencies: npm install --omit=dev as "Run NPM Install" does it, in the nodevenv's lib/ (found
#   from the node_modules link, else ~/nodevenv/<app root>/<only version>, else $NODEVENV); with no
#   nodevenv, in the app root. Nothing is compiled: the bundle has no install scripts.
set -euo pipefail

say() { printf '[deploy] %s\n' "$*"; }
fail() {
  say "FAILED: $*" >&2
  exit 1
}

app_root=${1:-}
[ -n "$app_root" ] || fail "usage: deploy/cpanel-deploy.sh <app root> (.cpanel.yml passes \$DEPLOYPATH)"
case "$app_root" in
  /*) ;;
  *) fail "DEPLOYPATH must be an absolute path, got \"$app_root\"" ;;
esac
cd "$(dirname "$0")/.."
repo=$(pwd -P)
# What is committed counts, not what a build may have left in the checkout (dist/ is ignored there).
if ! git ls-files --error-unmatch app.js dist/main.js >/dev/null 2>&1; then
  fail "this checkout holds no built app (no dist/main.js). Push the branch made by \`npm run deploy:branch\` (deploy), not your sources, and make it the checked-out branch."
fi
mkdir -p "$app_root"
app_root=$(cd "$app_root" && pwd -P)
[ "$app_root" != "$repo" ] || fail "DEPLOYPATH is the repository itself; point it at the app root"

# Dependencies are installed when they differ from the last install that SUCCEEDED (a stamp
# written after it), so a failed install is tried again on the next push.
deps_stamp=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
deps_changed=no
[ "$(cat "$app_root/.installed-deps" 2>/dev/null || true)" = "$deps_stamp" ] || deps_changed=yes
[ -e "$app_root/node_modules" ] || deps_changed=yes

files=$(mktemp)
list=$(mktemp "$app_root/.deployed-files.XXXXXX")
trap 'rm -f "$files" "$list"' EXIT
# A failed or empty listing must never read as "every deployed file is gone".
git ls-files -z >"$files" || fail "git ls-files failed in $repo"
[ -s "$files" ] || fail "git ls-files listed nothing in $repo"
updated=0
while IFS= read -r -d '' file; do
  case "$file" in
    .cpanel.yml | deploy/cpanel-deploy.sh | node_modules | node_modules/* | tmp/*) continue ;;
  esac
  printf '%s\n' "$file" >>"$list"
  target="$app_root/$file"
  # The bundle's .htaccess holds placeholders; one already there is the panel's (or yours).
  [ "$file" = .htaccess ] && [ -e "$target" ] && continue
  cmp -s "$file" "$target" && continue
  mkdir -p "$(dirname "$target")"
  cp -p "$file" "$target.deploying.$$"
  mv -f "$target.deploying.$$" "$target"
  updated=$((updated + 1))
done <"$files"

removed=0
if [ -f "$app_root/.deployed-files" ]; then
  while IFS= read -r file; do
    [ -n "$file" ] || continue
    rm -f "$app_root/$file"
    removed=$((removed + 1))
  done < <(grep -Fxv -f "$list" "$app_root/.deployed-files" || true)
fi
chmod 644 "$list"
mv -f "$list" "$app_root/.deployed-files"
trap 'rm -f "$files"' EXIT
say "$updated file(s) updated, $removed removed in $app_root"

if [ "$deps_changed" = yes ]; then
  nodevenv=${NODEVENV:-}
  versions=()
  if [ -z "$nodevenv" ] && [ -L "$app_root/node_modules" ]; then
    nodevenv=$(dirname "$(dirname "$(readlink "$app_root/node_modules")")")
  fi
  home=$(cd "$HOME" && pwd -P)
  if [ -z "$nodevenv" ] && [ ! -e "$app_root/node_modules" ]; then
    shopt -s nullglob
    versions=("$HOME/nodevenv/${app_root#"$home"/}"/*/lib)
    shopt -u nullglob
    if [ "${#versions[@]}" -eq 1 ]; then
      nodevenv=$(dirname "${versions[0]}")
    elif [ "${#versions[@]}" -gt 1 ]; then
      say "several Node versions in ~/nodevenv/${app_root#"$home"/}: use \"Run NPM Install\" in Setup Node.js App (or set NODEVENV in .cpanel.yml)"
    fi
  fi
  if [ -n "$nodevenv" ]; then
    lib="$nodevenv/lib"
    say "package.json changed: npm install --omit=dev in $lib (as \"Run NPM Install\" does)"
    mkdir -p "$lib"
    ln -sfn "$app_root/package.json" "$lib/package.json"
    ln -sfn "$app_root/package-lock.json" "$lib/package-lock.json"
    (cd "$lib" && PATH="$nodevenv/bin:$PATH" npm install --omit=dev --no-audit --no-fund)
    [ -L "$app_root/node_modules" ] || [ -e "$app_root/node_modules" ] || ln -s "$lib/node_modules" "$app_root/node_modules"
    printf '%s\n' "$deps_stamp" >"$app_root/.installed-deps"
  elif [ -d "$HOME/nodevenv" ] && [ ! -e "$app_root/node_modules" ]; then
    # A CloudLinux account whose app does not exist yet: a real node_modules folder here would
    # make Setup Node.js App refuse to create it.
    fail "no Node.js app for $app_root yet: create it in Setup Node.js App (application root ${app_root#"$home"/}), then push again or use \"Run NPM Install\""
  elif [ -d "$app_root/node_modules" ] || [ "${#versions[@]}" -eq 0 ]; then
    if command -v npm >/dev/null; then
      say "package.json changed: npm install --omit=dev in $app_root"
      (cd "$app_root" && npm install --omit=dev --no-audit --no-fund)
      printf '%s\n' "$deps_stamp" >"$app_root/.installed-deps"
    else
      say "package.json changed and npm is not on PATH: use \"Run NPM Install\" in Setup Node.js App"
    fi
  fi
fi

mkdir -p "$app_root/tmp"
touch "$app_root/tmp/restart.txt"
say "restart requested: $app_root/tmp/restart.txt"
