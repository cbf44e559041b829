#!/usr/bin/env bash
# Runs every check of agentpool on a fresh machine: installs the test tools it needs (pinned,
# cached under .cache/), then formatting, lints and all tests.
#
#   tests/run.sh            everything, the Azure DevOps extension (.vsix) included
#   tests/run.sh --quick    cargo tests only (tools must already be installed; the extension's
#                           tests then need a .vsix built earlier, in target/vsix/)
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

  # The extension's tests run its Windows binary under wine64.
  step "wine64 (Debian)"
  if [[ "$(dpkg-query -W -f='${Status}' wine64 2>/dev/null)" == "install ok installed" ]]; then
    echo "present"
  else
    as_root=()
    [[ $(id -u) -eq 0 ]] || as_root=(sudo)
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine64 >/dev/null
  fi

  step "extension (.vsix): extension-manifest/build.sh"
  bash extension-manifest/build.sh
fi

# The .vsix task-bin/tests/extension_package.rs checks (with --quick, one built earlier if any).
shopt -s nullglob
vsix_files=("$root"/target/vsix/*.vsix)
shopt -u nullglob
if ((${#vsix_files[@]} == 1)); then
  export AGENTPOOL_VSIX="${vsix_files[0]}"
fi

step "cargo test"
cargo test --workspace --locked
