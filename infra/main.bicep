// Entry point for `azd provision`: one resource group holding a Flex Consumption function app
// that resets CSP customer users' passwords through Partner Center, its user-assigned identity,
// the Key Vault with the Partner Center credentials, host storage and monitoring.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment; it names the resource group and seeds every resource name.')
param environmentName string

@minLength(1)
@description('Azure region of every resource; it must offer the Flex Consumption plan.')
param location string

@description('Object ID of the person or pipeline running azd (AZURE_PRINCIPAL_ID), granted Key Vault Secrets Officer to put the three secrets in; empty grants nothing.')
param principalId string = ''

@description('Kind of principal principalId is.')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

@minLength(36)
@maxLength(36)
@description('The partner\'s own Microsoft Entra tenant ID (PARTNER_TENANT_ID): the authority for the Partner Center token.')
param partnerTenantId string

@description('true: the app writes each new refresh token back to Key Vault, so its identity gets Key Vault Secrets Officer; false: Key Vault Secrets User (read only).')
param rotateRefreshToken bool = true

@description('Optional: tenant whose Entra ID tokens callers must present (CALLER_TENANT_ID). Empty leaves caller tokens off.')
param callerTenantId string = ''

@description('Optional: audience those caller tokens must carry (CALLER_AUDIENCE).')
param callerAudience string = ''

@description('Name of the Key Vault secret with the Secure Application Model app\'s client ID.')
param secretNameAppId string = 'partner-center-app-id'

@description('Name of the Key Vault secret with that app\'s client secret.')
param secretNameAppSecret string = 'partner-center-app-secret'

@description('Name of the Key Vault secret with the partner admin\'s refresh token.')
param secretNameRefreshToken string = 'partner-center-refresh-token'

@description('Most instances the function app scales out to.')
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Most HTTP requests one instance works on at once; keep it at or below pythonThreadpoolThreadCount.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Spread the function app over availability zones (only where Flex Consumption offers it; keeps at least two always-ready instances, billed while idle).')
param zoneRedundant bool = false

@description('Threads of the Python worker that run the (synchronous) handlers: PYTHON_THREADPOOL_THREAD_COUNT.')
@minValue(1)
@maxValue(64)
param pythonThreadpoolThreadCount int = 16

@description('Enabled: Key Vault answers on its public endpoint (Entra token and RBAC role still required). Disabled needs private endpoints and a virtual network, which this template does not create.')
@allowed([
  'Enabled'
  'Disabled'
])
param keyVaultPublicNetworkAccess string = 'Enabled'

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: '${abbrs.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'app/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: '${abbrs.managedIdentityUserAssignedIdentities}api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'app/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: '${abbrs.operationalInsightsWorkspaces}${resourceToken}'
    applicationInsightsName: '${abbrs.insightsComponents}${resourceToken}'
    location: location
    tags: tags
  }
}

module storage 'app/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: '${abbrs.storageStorageAccounts}${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: '${abbrs.keyVaultVaults}${resourceToken}'
    location: location
    tags: tags
    publicNetworkAccess: keyVaultPublicNetworkAccess
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    rotateRefreshToken: rotateRefreshToken
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    applicationInsightsName: monitoring.outputs.applicationInsightsName
  }
}

module api 'app/function.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: '${abbrs.webServerFarms}${resourceToken}'
    location: location
    tags: tags
    appTags: union(tags, { 'azd-service-name': 'api' })
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: storage.outputs.deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    keyVaultUri: keyVault.outputs.uri
    partnerTenantId: partnerTenantId
    secretNameAppId: secretNameAppId
    secretNameAppSecret: secretNameAppSecret
    secretNameRefreshToken: secretNameRefreshToken
    rotateRefreshToken: rotateRefreshToken
    callerTenantId: callerTenantId
    callerAudience: callerAudience
    pythonThreadpoolThreadCount: pythonThreadpoolThreadCount
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    zoneRedundant: zoneRedundant
  }
  // The host starts as soon as the app exists: give it its storage and telemetry roles first.
  dependsOn: [
    rbac
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_URI string = 'https://${api.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
