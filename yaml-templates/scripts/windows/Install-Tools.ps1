<#
.SYNOPSIS
    Installs the baseline tools of a Windows build-agent image.
.DESCRIPTION
    Runs elevated through Image Builder's PowerShell customizer: Chocolatey, Azure CLI,
    PowerShell 7, Terraform, azcopy and the PowerShell modules pipelines expect.
    The Azure Pipelines agent itself is NOT installed: Azure DevOps installs it on each
    scale-set instance.
#>
[CmdletBinding()]
param(
    [string] $TerraformVersion = 'latest'
)

$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'

function Write-Step([string] $Message) { Write-Output "[Install-Tools] $Message" }

Write-Step 'installing Chocolatey'
Set-ExecutionPolicy Bypass -Scope Process -Force
[System.Net.ServicePointManager]::SecurityProtocol = [System.Net.ServicePointManager]::SecurityProtocol -bor 3072
Invoke-Expression ((New-Object System.Net.WebClient).DownloadString('https://community.chocolatey.org/install.ps1'))

Write-Step 'installing Azure CLI, PowerShell 7, Terraform and azcopy'
choco install azure-cli powershell-core azcopy10 git -y --no-progress
if ($TerraformVersion -eq 'latest') {
    choco install terraform -y --no-progress
} else {
    choco install terraform --version $TerraformVersion -y --no-progress
}

Write-Step 'installing the NuGet package provider and PowerShell modules'
Install-PackageProvider -Name NuGet -Force -Scope AllUsers
Set-PSRepository -Name PSGallery -InstallationPolicy Trusted
foreach ($module in 'Pester', 'PSScriptAnalyzer', 'powershell-yaml', 'Az', 'ThreadJob', 'ImportExcel') {
    Install-Module -Name $module -Scope AllUsers -Force -AllowClobber
}

Write-Step 'done'
