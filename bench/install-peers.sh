#!/usr/bin/env bash
# Installs the systems the benchmarks compare Link Bridge with, from Debian's packages: etcd 3.4
# (server and client) and ZooKeeper 3.8 for the registry benchmarks; with --proxies, nginx and
# HAProxy for the proxy benchmark (ProxyBenchmark). Nothing is started as a service: each benchmark starts its own
# servers on loopback in a scratch directory.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin" # nginx and haproxy live in /usr/sbin on Debian
want_proxies=0
for arg in "$@"; do
  case "$arg" in
    --proxies|--nginx) want_proxies=1 ;; # --nginx: its name before HAProxy joined
    *) echo "unknown option: $arg (options: --proxies)" >&2; exit 2 ;;
  esac
done
packages=()
command -v etcd >/dev/null && [ -f /usr/share/java/zookeeper.jar ] || packages+=(etcd-server etcd-client zookeeper)
if [ "$want_proxies" = 1 ]; then
  command -v nginx >/dev/null || packages+=(nginx)
  command -v haproxy >/dev/null || packages+=(haproxy)
fi
if [ "${#packages[@]}" -eq 0 ]; then
  echo "already installed"; exit 0
fi
export DEBIAN_FRONTEND=noninteractive
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
# --no-install-recommends keeps the zookeeper package from starting a system-wide server.
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Debian starts what it installs as a system service; stop those just installed (only them: a
# server of the same kind the machine already ran is left alone).
for p in "${packages[@]}"; do
  case "$p" in
    etcd-server) s=etcd ;; etcd-client) continue ;; *) s="$p" ;;
  esac
  $SUDO systemctl stop "$s" >/dev/null 2>&1 || true
  $SUDO pkill -x "$s" >/dev/null 2>&1 || true
done
command -v etcd >/dev/null && echo "installed: $(etcd --version | head -1); zookeeper $(dpkg-query -W -f='${Version}' zookeeper)"
command -v nginx >/dev/null && echo "nginx: $(nginx -v 2>&1)"
command -v haproxy >/dev/null && echo "haproxy: $(haproxy -v | head -1)"
true
