#!/usr/bin/env bash
# Quick start without an Azure account: builds agentpool and its emulator, installs Azurite
# (pinned in tests/node), starts both locally, deploys the infrastructure of a parameter file
# with `agentpool up --scope infra`, then plans again to show that nothing is left to change.
#
#   tests/local-azure.sh                       the sbx linux example
#   tests/local-azure.sh -e sbx --os windows   any parameter selection agentpool takes
#
# State and logs live under .cache/local-azure/ (emulator state, certificates, traffic files).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$root/.cache/local-azure"
mkdir -p "$work"
selection=("$@")
[[ ${#selection[@]} -gt 0 ]] || selection=(--environment sbx --os linux)

source "$root/tests/node-tools.sh"
install_node_tools
cargo build --quiet -p agentpool -p agentpool-emulator
bin="${CARGO_TARGET_DIR:-$root/target}/debug"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
azurite_port="$(free_port)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# The storage accounts the parameter file names must exist in Azurite (path-style URLs).
# So must the emulator's staging account of Image Builder logs (--staging-account, aibstaging).
accounts="$("$bin/agentpool" plan --offline "${selection[@]}" --output json |
  python3 -c 'import json,sys; names = [r["name"] for r in json.load(sys.stdin)["resources"] if r["kind"] == "Microsoft.Storage/storageAccounts"] + ["aibstaging"]; print(";".join(n + ":YWdlbnRwb29sLWxvY2FsLWF6dXJlLWtleQ==" for n in names))')"

# The emulated client is the deploying principal: Owner of the subscription, and Storage Blob Data
# Contributor because agentpool uploads the scripts with Entra ID (Owner carries no data actions).
"$bin/agentpool-emulator" --state-dir "$work" --traffic-dir "$work/traffic" --lro-delay-ms 500 \
  --caller-role Owner --caller-role "Storage Blob Data Contributor" \
  --blob-endpoint-template "https://127.0.0.1:${azurite_port}/{account}/" >"$work/ready.json" 2>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/ready.json" ]] && break; sleep 0.1; done
[[ -s "$work/ready.json" ]] || { echo "the emulator did not start: see $work/emulator.log" >&2; exit 1; }
ready() { python3 -c "import json; print(json.load(open('$work/ready.json'))['$1'])"; }

AZURITE_ACCOUNTS="$accounts" tests/node/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$azurite_port" \
  --inMemoryPersistence --silent --disableTelemetry --skipApiVersionCheck --loose \
  --oauth basic --cert "$(ready certFile)" --key "$(ready keyFile)" >"$work/azurite.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$azurite_port") 2>/dev/null && break; sleep 0.1; done

AGENTPOOL_ARM_ENDPOINT="$(ready armEndpoint)"
AZURE_AUTHORITY_HOST="$(ready authorityHost)"
AGENTPOOL_CA_FILE="$(ready caFile)"
AZURE_TENANT_ID="$(ready tenantId)"
AZURE_SUBSCRIPTION_ID="$(ready subscriptionId)"
AZURE_CLIENT_ID="$(ready clientId)"
AZURE_CLIENT_SECRET="$(ready clientSecret)"
export AGENTPOOL_ARM_ENDPOINT AZURE_AUTHORITY_HOST AGENTPOOL_CA_FILE AZURE_TENANT_ID AZURE_SUBSCRIPTION_ID \
  AZURE_CLIENT_ID AZURE_CLIENT_SECRET

echo "== agentpool up --scope infra ${selection[*]}  (emulator $AGENTPOOL_ARM_ENDPOINT, Azurite port $azurite_port)"
"$bin/agentpool" up --scope infra "${selection[@]}"
echo
echo "== agentpool plan ${selection[*]}  (a second run: nothing should change)"
"$bin/agentpool" plan "${selection[@]}"
