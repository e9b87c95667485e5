// The vault that holds the three Partner Center secrets (app ID, app secret, refresh token).
// Access is Azure RBAC only (no access policies); deleted secrets are kept 90 days and cannot
// be purged early. Nothing here writes a secret: the operator puts them in after `azd up`.

@description('Name of the vault (3-24 characters, globally unique).')
param name string

@description('Azure region of the vault.')
param location string

@description('Tags put on the vault.')
param tags object = {}

@description('Enabled: the vault answers on its public endpoint (callers still need an Entra token and an RBAC role). Disabled: only through private endpoints, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string = 'Enabled'

@description('Resource ID of the Log Analytics workspace that receives the vault audit log.')
param logAnalyticsWorkspaceId string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    // checkov:skip=CKV_AZURE_109:The Flex Consumption app has no virtual network here and App Service is not a trusted service for the vault firewall, so the firewall default stays Allow; every call still needs an Entra token and an RBAC role, and publicNetworkAccess can be set to Disabled.
    // checkov:skip=CKV_AZURE_189:Public network access is a parameter (keyVaultPublicNetworkAccess), Enabled by default for the same reason as CKV_AZURE_109.
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
      defaultAction: 'Allow'
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
