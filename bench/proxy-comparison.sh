#!/usr/bin/env bash
# The proxy comparison of docs/benchmarks.md in one command: installs nginx and HAProxy from Debian's
# packages (bench/install-peers.sh --proxies), builds Link Bridge, and runs ProxyBenchmark: the
# broker's proxy against direct calls, nginx grpc_pass and HAProxy, in the same run on this machine.
# Arguments go to the benchmark and override the defaults below one by one, e.g.
# bench/proxy-comparison.sh --runs 5 --seconds 10
set -euo pipefail
cd "$(dirname "$0")/.."
bench/install-peers.sh --proxies
mvn -B -q -DskipTests install
args="--runs 3 --seconds 5 --warmup 15 --latency-calls 2000 $*" # a later option wins
exec mvn -B -q -pl linkbridge-bench exec:java -Dexec.mainClass=io.linkbridge.bench.ProxyBenchmark -Dexec.args="$args"
