#!/usr/bin/env bash
# Installs the baseline tools of a Linux build-agent image: Azure CLI, PowerShell 7, .NET SDK,
# Terraform, azcopy and the PowerShell modules pipelines expect.
# Runs as root through Image Builder's Shell customizer. The Azure Pipelines agent itself is
# NOT installed: Azure DevOps installs it on each scale-set instance.
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive
readonly TERRAFORM_VERSION="${TERRAFORM_VERSION:-1.9.8}"

log() { printf '[install-tools] %s\n' "$*"; }

log "refreshing package lists"
apt-get update -y
apt-get install -y --no-install-recommends ca-certificates curl gnupg lsb-release unzip jq git

log "adding Microsoft's package repository"
release="$(lsb_release -rs)"
curl -fsSL "https://packages.microsoft.com/config/ubuntu/${release}/packages-microsoft-prod.deb" -o /tmp/packages-microsoft-prod.deb
dpkg -i /tmp/packages-microsoft-prod.deb
rm -f /tmp/packages-microsoft-prod.deb
apt-get update -y

log "installing PowerShell and the .NET SDK"
apt-get install -y --no-install-recommends powershell dotnet-sdk-8.0

log "installing the Azure CLI"
curl -fsSL https://aka.ms/InstallAzureCLIDeb | bash
az extension add --name azure-devops --only-show-errors

log "installing Terraform ${TERRAFORM_VERSION}"
curl -fsSL "https://releases.hashicorp.com/terraform/${TERRAFORM_VERSION}/terraform_${TERRAFORM_VERSION}_linux_amd64.zip" -o /tmp/terraform.zip
unzip -o /tmp/terraform.zip -d /usr/local/bin
rm -f /tmp/terraform.zip

log "installing azcopy"
curl -fsSL https://aka.ms/downloadazcopy-v10-linux -o /tmp/azcopy.tgz
tar -xzf /tmp/azcopy.tgz -C /tmp
install -m 0755 /tmp/azcopy_linux_amd64_*/azcopy /usr/local/bin/azcopy
rm -rf /tmp/azcopy.tgz /tmp/azcopy_linux_amd64_*

log "installing PowerShell modules"
# shellcheck disable=SC2016 # the single-quoted text is PowerShell, expanded by pwsh
pwsh -NoLogo -NoProfile -Command '
  $ErrorActionPreference = "Stop"
  Set-PSRepository -Name PSGallery -InstallationPolicy Trusted
  foreach ($module in "Pester", "PSScriptAnalyzer", "powershell-yaml", "Az", "ThreadJob", "ImportExcel") {
    Install-Module -Name $module -Scope AllUsers -Force -AllowClobber
  }'

log "done"
