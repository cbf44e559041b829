#!/usr/bin/env bash
# Quick start without an Azure account: builds agentpool and its emulator (Resource Manager,
# Entra, Image Builder, Azure DevOps), installs Azurite (pinned in tests/node), starts both, and
# runs the whole chain for a parameter file: `agentpool up --scope all` builds the image, deploys
# the scale set behind its NAT gateway and registers the Azure DevOps pool; then it prints the pool
# and its agents on the new image. State persists in .cache/local-azure/, so a second run plans
# again, shows that nothing is left to change, and only prints the pool.
#
#   tests/local-azure.sh                       the sbx linux example
#   tests/local-azure.sh -e sbx --os windows   any parameter selection agentpool takes
#   tests/local-azure.sh --fresh               forget the state first
#
# The subnets the examples use exist from the start (as a network team would have made them):
# private, so the NAT gateway is what lets the agents out.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="$root/.cache/local-azure"
if [[ "${1:-}" == "--fresh" ]]; then
  rm -rf "$work"
  shift
fi
mkdir -p "$work"
selection=("$@")
[[ ${#selection[@]} -gt 0 ]] || selection=(--environment sbx --os linux)

source "$root/tests/node-tools.sh"
install_node_tools
cargo build --quiet -p agentpool -p agentpool-emulator
bin="${CARGO_TARGET_DIR:-$root/target}/debug"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# Storage accounts keep the blob endpoint they were made with: Azurite keeps its port across runs.
[[ -s "$work/azurite.port" ]] || free_port >"$work/azurite.port"
azurite_port="$(cat "$work/azurite.port")"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT

# The storage accounts the parameter file names must exist in Azurite (path-style URLs).
# So must the emulator's staging account of Image Builder logs (--staging-account, aibstaging).
accounts="$("$bin/agentpool" plan --offline "${selection[@]}" --output json |
  python3 -c 'import json,sys; names = [r["name"] for r in json.load(sys.stdin)["resources"] if r["kind"] == "Microsoft.Storage/storageAccounts"] + ["aibstaging"]; print(";".join(n + ":YWdlbnRwb29sLWxvY2FsLWF6dXJlLWtleQ==" for n in names))')"

# The examples' subscription and subnets; the emulated client deploys as Owner and Storage Blob
# Data Contributor (agentpool uploads the scripts with Entra ID; Owner carries no data actions).
network=/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-network-sbx/providers/Microsoft.Network/virtualNetworks/vnet-sbx
"$bin/agentpool-emulator" --state-dir "$work" --state-file "$work/emulator-state.json" --traffic-dir "$work/traffic" \
  --subscription-id 00000000-0000-0000-0000-000000000000 \
  --subnet "$network/subnets/snet-agents=10.20.1.0/24" --subnet "$network/subnets/snet-agents-windows=10.20.2.0/24" \
  --lro-delay-ms 500 --devops-node-ms 300 \
  --caller-role Owner --caller-role "Storage Blob Data Contributor" \
  --blob-endpoint-template "https://127.0.0.1:${azurite_port}/{account}/" >"$work/ready.json" 2>"$work/emulator.log" &
pids+=($!)
for _ in $(seq 100); do [[ -s "$work/ready.json" ]] && break; sleep 0.1; done
[[ -s "$work/ready.json" ]] || { echo "the emulator did not start: see $work/emulator.log" >&2; exit 1; }
ready() { python3 -c "import json; print(json.load(open('$work/ready.json'))['$1'])"; }

mkdir -p "$work/azurite"
AZURITE_ACCOUNTS="$accounts" tests/node/node_modules/.bin/azurite-blob --blobHost 127.0.0.1 --blobPort "$azurite_port" \
  --location "$work/azurite" --silent --disableTelemetry --skipApiVersionCheck --loose \
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
AGENTPOOL_DEVOPS_URL="$(ready devopsUrl)"
AZURE_DEVOPS_EXT_PAT="$(ready devopsPat)"
export AGENTPOOL_ARM_ENDPOINT AZURE_AUTHORITY_HOST AGENTPOOL_CA_FILE AZURE_TENANT_ID AZURE_SUBSCRIPTION_ID \
  AZURE_CLIENT_ID AZURE_CLIENT_SECRET AGENTPOOL_DEVOPS_URL AZURE_DEVOPS_EXT_PAT

echo "== agentpool plan ${selection[*]}  (emulator $AGENTPOOL_ARM_ENDPOINT, Azure DevOps $AGENTPOOL_DEVOPS_URL)"
"$bin/agentpool" plan "${selection[@]}" 2>&1 | tee "$work/plan.log"
if grep -q "^plan: no changes" "$work/plan.log"; then
  echo
  echo "== nothing is left to change: the image, the scale set and the pool are in place"
  echo "   (a new image: agentpool up --scope image, then agentpool up --scope pool --roll-idle)"
else
  echo
  echo "== agentpool up --scope all ${selection[*]}"
  "$bin/agentpool" up --scope all "${selection[@]}" --poll-seconds 1
fi
echo
echo "== agentpool pool status ${selection[*]}"
"$bin/agentpool" pool status "${selection[@]}" --wait-minutes 2
