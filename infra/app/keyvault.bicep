// The vault that holds the three Partner Center secrets (app ID, app secret, refresh token).
// Access is Azure RBAC only (no access policies); deleted secrets and the vault itself are kept
// 90 days and cannot be purged early (purge protection). Nothing here writes a secret: the
// operator loads them after `azd up` (python3 -m ops secrets / consent), and the postprovision
// hook then grants the app roles on each secret, never on the whole vault.

@description('Name of the vault (3-24 characters, globally unique; main.bicep salts it so a vault can be created again while a deleted one keeps the old name).')
param name string

@description('Azure region of the vault.')
param location string

@description('Tags put on the vault.')
param tags object = {}

@description('Disabled (main.bicep: whenever vnetEnabled): only the private endpoint answers and the firewall denies by default. Enabled (no virtual network): the public endpoint is the app\'s only way in; an Entra token and an RBAC role are still required.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

@description('Resource ID of the Log Analytics workspace that receives the vault audit log.')
param logAnalyticsWorkspaceId string

var firewallDefaultAction = (publicNetworkAccess == 'Disabled') ? 'Deny' : 'Allow'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109:The firewall default is Deny whenever vnetEnabled is true (asserted in tests/infra); it stays Allow only without a virtual network, because App Service is not a trusted service for the vault firewall, and every call still needs an Entra token and an RBAC role. checkov does not evaluate the condition.
    // checkov:skip=CKV_AZURE_189:Public network access is Disabled whenever vnetEnabled is true (asserted in tests/infra) and Enabled only without a virtual network, for the reason given for CKV_AZURE_109; checkov cannot read the conditional value.
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: firewallDefaultAction
    }
  }
}

// Who read or changed which secret, and when: the vault's audit log goes to Log Analytics.
resource vaultAudit 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'audit-to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logAnalyticsWorkspaceId
    logs: [
      {
        categoryGroup: 'audit'
        enabled: true
      }
    ]
    metrics: [
      {
        category: 'AllMetrics'
        enabled: true
      }
    ]
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
