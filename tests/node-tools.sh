# shellcheck shell=bash
# Sourced by tests/run.sh, tests/local-azure.sh and tests/bench.sh: installs the npm tools pinned
# in tests/node/package-lock.json (oav, Azurite, @azure/storage-blob) once per lock file, with the
# npm cache under .cache/npm. Needs $root, the workspace root.

install_node_tools() {
  : "${root:?set root to the workspace root before sourcing tests/node-tools.sh}"
  if ! command -v npm >/dev/null 2>&1; then
    apt-get update
    apt-get install -y --no-install-recommends nodejs npm
  fi
  local stamp="$root/tests/node/node_modules/.installed-lock"
  if ! cmp -s "$root/tests/node/package-lock.json" "$stamp" 2>/dev/null; then
    npm ci --prefix "$root/tests/node" --no-audit --no-fund --cache "$root/.cache/npm" --loglevel=error
    cp "$root/tests/node/package-lock.json" "$stamp"
  fi
}
