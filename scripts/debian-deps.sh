#!/usr/bin/env bash
# Installs the Debian packages given as arguments that are not installed yet (apt-get; root, or sudo).
# With no arguments: what the integration tests need (the notebook's plotting cells run on our model_map_v2.json).
# scripts/e2e-setup.sh uses it for the browser and code-server's build packages.
set -euo pipefail
PKGS=("$@")
[ ${#PKGS[@]} -gt 0 ] || PKGS=(python3 python3-numpy python3-networkx python3-matplotlib)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "[debian-deps] apt-get install ${missing[*]}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
