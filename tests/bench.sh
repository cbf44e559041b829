#!/usr/bin/env bash
# Benchmarks of agentpool against a local Azure (the emulator and Azurite), in one command:
# installs the npm tools it needs (pinned in tests/node, as tests/run.sh does), builds agentpool
# and agentpool-bench in release, then prints the tables (about four minutes on 2 cores, once built).
#
#   tests/bench.sh                      everything
#   tests/bench.sh --runs 3 --skip-upload   any flag of agentpool-bench (--help lists them)
#   tests/bench.sh --skip-deploy --skip-upload --skip-wait --skip-chain   task start only (seconds;
#                                       the first run after a build also brotli-compresses the binary)
#
# Work files (the 256 MiB upload file, logs, traffic of every run) go to .cache/bench/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

source "$root/tests/node-tools.sh"
install_node_tools

echo "== cargo build --release -p agentpool -p agentpool-bench" >&2
cargo build --release --locked --quiet -p agentpool -p agentpool-bench
bin="${CARGO_TARGET_DIR:-$root/target}/release"
exec "$bin/agentpool-bench" --root "$root" --agentpool "$bin/agentpool" "$@"
