#!/usr/bin/env bash
# Installs what the end-to-end tests in a real VS Code need, only what is missing, then packages the .vsix:
#   - Debian chromium, ripgrep and the build deps of code-server's native modules (apt-get);
#   - code-server 4.100.3 (VS Code 1.100.3, the last one on Node 20) from npm into a cache folder outside the repo;
#   - modeldiff-<version>.vsix via `npm run package` (vsce, offline).
# Prints the paths it settled on as KEY=VALUE lines at the end (scripts/e2e.mjs reads them).
#
# Env: MODELDIFF_E2E_CACHE (default ~/.cache/modeldiff-e2e), CS_VERSION (default 4.100.3),
#      E2E_SKIP_PACKAGE=1 to keep an existing .vsix.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
CACHE="${MODELDIFF_E2E_CACHE:-${HOME:-/root}/.cache/modeldiff-e2e}"
CS_VERSION="${CS_VERSION:-4.100.3}"
mkdir -p "$CACHE/tmp" "$CACHE/home"
export TMPDIR="$CACHE/tmp"
# code-server writes ~/.config/code-server/config.yaml even for --version: keep it out of the real home.
cs() { HOME="$CACHE/home" XDG_CONFIG_HOME="$CACHE/home/.config" XDG_DATA_HOME="$CACHE/home/.local/share" "$@"; }
t0=$(date +%s)
step() { echo "[e2e-setup +$(( $(date +%s) - t0 ))s] $*"; }

# 1) Debian packages: the browser, ripgrep (seeds @vscode/ripgrep), headers/toolchain for kerberos, node-pty, spdlog...
step "Debian packages"
bash "$ROOT/scripts/debian-deps.sh" chromium ripgrep build-essential pkg-config python3 libkrb5-dev libx11-dev libxkbfile-dev libsecret-1-dev
CHROMIUM="$(command -v chromium || true)"
[ -n "$CHROMIUM" ] || { echo "chromium not found after apt-get install" >&2; exit 1; }

# 2) code-server from npm, with the fixes from shared/notes/vscode-testing.md.
CS_DIR="$CACHE/code-server-$CS_VERSION"
CS_BIN="$CS_DIR/node_modules/.bin/code-server"
if [ -x "$CS_BIN" ] && cs "$CS_BIN" --version 2>/dev/null | grep -q "^$CS_VERSION "; then
  step "code-server $CS_VERSION present"
else
  step "installing code-server $CS_VERSION into $CS_DIR"
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$CS_VERSION" = 4.100.3 ] && [ "$node_major" != 20 ]; then
    echo "code-server $CS_VERSION needs Node 20 (found $(node -v))" >&2; exit 1
  fi
  # @vscode/ripgrep's postinstall downloads rg from GitHub; it first looks in its cache under $TMPDIR.
  RG_CACHE="$TMPDIR/vscode-ripgrep-cache-1.15.11"
  RG_TGZ="$RG_CACHE/ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz"
  if [ ! -s "$RG_TGZ" ]; then
    mkdir -p "$RG_CACHE"
    ( cd "$RG_CACHE" && cp "$(command -v rg)" rg && tar czf "$RG_TGZ" rg && rm rg )
  fi
  rm -rf "$CS_DIR"
  mkdir -p "$CS_DIR"
  ( cd "$CS_DIR" && echo '{"name":"modeldiff-e2e-code-server","private":true}' > package.json \
    && npm_config_unsafe_perm=true npm_config_yes=true npm_config_fund=false npm_config_audit=false \
       npm install --no-save --loglevel=error "code-server@$CS_VERSION" >"$CACHE/code-server-install.log" 2>&1 ) \
    || { tail -40 "$CACHE/code-server-install.log" >&2; exit 1; }
  cs "$CS_BIN" --version | head -1
fi

# 3) The extension package.
VERSION="$(node -p "require('$ROOT/package.json').version")"
VSIX="$ROOT/modeldiff-$VERSION.vsix"
if [ "${E2E_SKIP_PACKAGE:-}" = 1 ] && [ -s "$VSIX" ]; then
  step "keeping $VSIX"
else
  step "npm run package"
  ( cd "$ROOT" && npm run --silent package >"$CACHE/package.log" 2>&1 ) || { cat "$CACHE/package.log" >&2; exit 1; }
fi
[ -s "$VSIX" ] || { echo "no $VSIX after npm run package" >&2; exit 1; }
step "done"
echo "CODE_SERVER=$CS_BIN"
echo "CHROMIUM=$CHROMIUM"
echo "VSIX=$VSIX"
echo "E2E_TMP=$TMPDIR"
