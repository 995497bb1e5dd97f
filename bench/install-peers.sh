#!/usr/bin/env bash
# Installs the systems the benchmarks compare Link Bridge with, from Debian's packages:
# etcd 3.4 (server and client) and ZooKeeper 3.8. Nothing is started as a service: the benchmark
# starts its own 3-member clusters on loopback in a scratch directory.
set -euo pipefail
if command -v etcd >/dev/null && [ -f /usr/share/java/zookeeper.jar ]; then
  echo "etcd and ZooKeeper already installed"; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# --no-install-recommends keeps the zookeeper package from starting a system-wide server.
$SUDO apt-get install -y -qq --no-install-recommends etcd-server etcd-client zookeeper >/dev/null
for s in etcd zookeeper; do $SUDO systemctl stop "$s" >/dev/null 2>&1 || true; done
pkill -x etcd >/dev/null 2>&1 || true
echo "installed: $(etcd --version | head -1); zookeeper $(dpkg-query -W -f='${Version}' zookeeper)"
