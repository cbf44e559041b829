#!/usr/bin/env bash
# Runs every check of agentpool on a fresh machine: installs the test tools it needs (pinned,
# cached under .cache/), then formatting, lints and all tests.
#
#   tests/run.sh            everything
#   tests/run.sh --quick    cargo tests only (tools must already be installed)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export AGENTPOOL_SPECS_DIR="${AGENTPOOL_SPECS_DIR:-$root/../shared/specs}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

step() { printf '\n== %s\n' "$*"; }

# The official specs the tests read; when absent, the files pinned in tests/specs/manifest.tsv are
# fetched from their public repositories (blob ids verified) into .cache/specs.
if [[ ! -d "$AGENTPOOL_SPECS_DIR" ]]; then
  step "official specs: $AGENTPOOL_SPECS_DIR is absent, fetching them"
  bash tests/specs/fetch.sh "$root/.cache/specs"
  export AGENTPOOL_SPECS_DIR="$root/.cache/specs"
fi

if [[ "${1:-}" != "--quick" ]]; then
  step "test tools (npm, pinned in tests/node/package-lock.json)"
  source "$root/tests/node-tools.sh"
  install_node_tools

  step "test tools (PyPI, pinned in tests/python/requirements.txt)"
  venv="$root/.cache/venv"
  if ! cmp -s tests/python/requirements.txt "$venv/.installed-requirements" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --cache-dir "$root/.cache/pip" -r tests/python/requirements.txt
    cp tests/python/requirements.txt "$venv/.installed-requirements"
  fi

  step "cargo fmt --check"
  cargo fmt --all -- --check

  step "cargo clippy --all-targets -- -D warnings"
  cargo clippy --workspace --all-targets --locked -- -D warnings
fi

step "cargo test"
cargo test --workspace --locked
