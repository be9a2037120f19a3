#!/usr/bin/env bash
# Installs the Debian packages the tests need, when they are missing.
#
#   scripts/install-system-deps.sh [PACKAGE...]    (default: passenger)
#   scripts/install-system-deps.sh arm64           (the arm64 build and its emulated test)
#
# `arm64` stands for what the linux-arm64-gnu addon needs on an x64 Debian 12 machine: Debian's
# rustc-web (1.96, from the security archive; rustup's compiler has no aarch64 std here), its
# standard library for arm64 through multiarch (libstd-rust-web-dev:arm64), and what runs arm64 Node
# in the tests: qemu-user-static with arm64 libc and libstdc++ (libc6:arm64, libstdc++6:arm64).
# A package named `NAME:ARCH` adds ARCH as a dpkg foreign architecture first
# (`dpkg --add-architecture`, then `apt-get update`).
#
# `passenger` gives Passenger Standalone with its builtin engine, enough to run app.js under the real
# Node loader. Recommends are skipped: for `passenger` they only add fonts-lato and libjs-jquery (Ruby's
# HTML docs); Standalone works without them. `mariadb-server` gives the notes example's tests a real
# MariaDB: they run their own throwaway `mariadbd` (test/helpers/mariadb.ts), never the system
# service. Needs root or passwordless sudo; otherwise it says which command to run and exits 1.
set -euo pipefail

packages=("$@")
if [ "${#packages[@]}" -eq 0 ]; then
  packages=(passenger)
fi
expanded=()
for package in "${packages[@]}"; do
  if [ "$package" = arm64 ]; then
    expanded+=(rustc-web libstd-rust-web-dev:arm64 qemu-user-static libc6:arm64 libstdc++6:arm64)
  else
    expanded+=("$package")
  fi
done
packages=("${expanded[@]}")

say() { printf '[install-system-deps] %s\n' "$*" >&2; }

# `passenger` counts as present when it is on PATH, however it got there (gem, tarball, the package).
is_present() {
  local package=$1
  if [ "$package" = passenger ] && command -v passenger >/dev/null 2>&1; then
    return 0
  fi
  command -v dpkg-query >/dev/null 2>&1 &&
    [ "$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null)" = installed ]
}

missing=()
for package in "${packages[@]}"; do
  is_present "$package" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
  say "already installed: ${packages[*]}"
  exit 0
fi

# Foreign architectures (`libc6:arm64`) that dpkg does not know yet.
architectures=()
for package in "${missing[@]}"; do
  case "$package" in
  *:*)
    arch=${package##*:}
    if ! dpkg --print-foreign-architectures | grep -qx "$arch" && [[ " ${architectures[*]} " != *" $arch "* ]]; then
      architectures+=("$arch")
    fi
    ;;
  esac
done

install_command="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends"
install_command+=" ${missing[*]}"
for arch in "${architectures[@]}"; do
  install_command="dpkg --add-architecture $arch && $install_command"
done
if ! command -v apt-get >/dev/null 2>&1; then
  say "missing: ${missing[*]}, and this is not a Debian-like system (no apt-get): install them by hand."
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    # `env` because sudo's env_reset may refuse or drop a VAR=value given to it directly.
    sudo=(sudo -n env)
  else
    say "missing: ${missing[*]}. Installing needs root; run this, then try again:"
    say "  sudo sh -c '$install_command'"
    exit 1
  fi
fi

# A lock timeout so that an unattended upgrade running at boot delays us instead of failing us.
apt=("${sudo[@]}" DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=120)
if [ "${#sudo[@]}" -eq 0 ]; then
  apt=(env "${apt[@]}")
fi

# dpkg's progress lines go to stdout even with -qq: keep them in a file and show it only on failure.
# apt's errors and warnings are on stderr and stay visible.
output=$(mktemp)
trap 'rm -f "$output"' EXIT

for arch in "${architectures[@]}"; do
  say "adding the dpkg architecture $arch (multiarch)"
  "${sudo[@]}" dpkg --add-architecture "$arch"
done

say "installing: ${missing[*]}"
if ! "${apt[@]}" update >"$output"; then
  cat "$output" >&2
  say "apt-get update failed (see above)."
  exit 1
fi
if ! "${apt[@]}" install -y --no-install-recommends "${missing[@]}" >"$output"; then
  cat "$output" >&2
  say "apt-get install ${missing[*]} failed (see above)."
  exit 1
fi

for package in "${missing[@]}"; do
  if ! is_present "$package"; then
    say "apt-get finished but $package is still missing."
    exit 1
  fi
done
say "installed: ${missing[*]}"
