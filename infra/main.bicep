// Entry point for `azd provision`: one resource group holding a Flex Consumption function app
// that resets CSP customer users' passwords through Partner Center, its user-assigned identity,
// the Key Vault with the Partner Center credentials, host storage, monitoring and, with
// vnetEnabled, a virtual network with private endpoints for storage and the vault.
//
// Every parameter an operator may change is mapped to an azd environment value in
// main.parameters.json: `azd env set NAME value` persists it, and the next `azd provision`
// applies it. The function app's settings are rewritten from these parameters on every
// provision, so a change made only in the portal does not survive.
targetScope = 'subscription'

// --- azd environment ---------------------------------------------------------------------

@minLength(1)
@maxLength(64)
@description('Name of the azd environment (AZURE_ENV_NAME); it names the resource group and seeds every resource name.')
param environmentName string

// The regions that offer the Flex Consumption plan, as in the Azure-Samples Flex Consumption
// quickstarts; `az functionapp list-flexconsumption-locations` prints the current list.
@minLength(1)
@description('Azure region of every resource (AZURE_LOCATION); only regions that offer the Flex Consumption plan.')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'eastus2euap'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object ID of the person or pipeline running azd (AZURE_PRINCIPAL_ID), granted Key Vault Secrets Officer on the vault to load the three secrets while grantDeployerSecretsOfficer is true; empty grants nothing.')
param principalId string = ''

// Secrets Officer on the whole vault can read the App+User refresh token, so it is meant for
// the first deploy only; after that the role is granted just in time (infra/README.md). A
// condition turned false deletes nothing: the assignment made earlier stays until removed.
@description('GRANT_DEPLOYER_SECRETS_OFFICER: grant principalId Key Vault Secrets Officer on the whole vault on every provision, to load the secrets. Set false once they are loaded (then remove the assignment, as infra/README.md shows) and grant the role just in time.')
param grantDeployerSecretsOfficer bool = true

@description('Kind of principal principalId is (AZURE_PRINCIPAL_TYPE).')
@allowed([
  'User'
  'Group'
  'ServicePrincipal'
])
param principalType string = 'User'

// A deleted vault keeps its name for the 90 days of purge protection, so a vault created again
// after `azd down` needs another name. The preprovision hook sets a new salt when it finds the
// environment's previous vault soft-deleted; empty keeps the name kv-<token>.
@maxLength(7)
@description('KEY_VAULT_NAME_SALT: 1-7 lower-case letters or digits appended to the vault name (kv-<token>-<salt>); empty: kv-<token>. Set by infra/hooks/preprovision.py.')
param keyVaultNameSalt string = ''

// --- Network -----------------------------------------------------------------------------

@description('VNET_ENABLED: true puts the app in a virtual network (a subnet delegated to Flex Consumption) and reaches storage and Key Vault through private endpoints only, with their public network access off.')
param vnetEnabled bool = false

// --- App settings (contract section 3) ------------------------------------------------------

@minLength(36)
@maxLength(36)
@description('PARTNER_TENANT_ID: the partner\'s own Microsoft Entra tenant ID, the authority for the Partner Center token.')
param partnerTenantId string

@description('SECRET_NAME_APP_ID: name of the Key Vault secret with the Secure Application Model app\'s client ID.')
param secretNameAppId string = 'partner-center-app-id'

@description('SECRET_NAME_APP_SECRET: name of the Key Vault secret with that app\'s client secret.')
param secretNameAppSecret string = 'partner-center-app-secret'

@description('SECRET_NAME_REFRESH_TOKEN: name of the Key Vault secret with the partner admin\'s refresh token.')
param secretNameRefreshToken string = 'partner-center-refresh-token'

@description('PARTNER_CENTER_BASE_URL: Partner Center REST root.')
param partnerCenterBaseUrl string = 'https://api.partnercenter.microsoft.com'

@description('PARTNER_CENTER_RESOURCE: the token\'s resource (v1) or scope base (v2), for sovereign clouds.')
param partnerCenterResource string = 'https://api.partnercenter.microsoft.com'

@description('PARTNER_CENTER_RESET_CALL: resetpassword, or users for the older PATCH /v1/customers/{id}/users/{id}.')
@allowed([
  'resetpassword'
  'users'
])
param partnerCenterResetCall string = 'resetpassword'

@description('AUTHORITY_HOST: Microsoft identity platform host.')
param authorityHost string = 'https://login.microsoftonline.com'

@description('GRAPH_BASE_URL: Microsoft Graph root, for revokeSessions.')
param graphBaseUrl string = 'https://graph.microsoft.com'

@description('RESET_DEADLINE_SECONDS: the whole reset\'s budget, retries included.')
@minValue(1)
@maxValue(220)
param resetDeadlineSeconds int = 25

@description('SECRET_CACHE_SECONDS: how long secrets read from Key Vault are reused.')
@minValue(0)
param secretCacheSeconds int = 300

@description('ROTATE_REFRESH_TOKEN: the app writes each new refresh token back to Key Vault; also decides whether the postprovision hook grants it write on that one secret.')
param rotateRefreshToken bool = true

@description('REFRESH_TOKEN_ROTATION_SCHEDULE: NCRONTAB schedule of the rotation timer (default Mondays 03:00 UTC).')
param refreshTokenRotationSchedule string = '0 0 3 * * 1'

@description('CREDENTIALS_CHECK_SCHEDULE: NCRONTAB schedule of the daily credentials checks, every day (day, month and weekday *), at most once a minute; the app keeps the default when it is not (default 03:30 UTC every day).')
param credentialsCheckSchedule string = '0 30 3 * * *'

@description('CALLER_TENANT_ID: tenant whose Entra ID tokens callers must present; set together with callerAudience. Empty leaves caller tokens off.')
param callerTenantId string = ''

@description('CALLER_AUDIENCE: audience those caller tokens must carry.')
param callerAudience string = ''

@description('CALLER_REQUIRED_ROLE: app role the caller token must hold in roles.')
param callerRequiredRole string = 'PasswordReset.Invoke'

@description('CALLER_OPERATOR_ROLE: app role a caller token needs for GET /api/health/credentials?probe=true.')
param callerOperatorRole string = 'PasswordReset.Operate'

@description('CALLER_POLICY: caller app ID -> list of customer tenant IDs it may act on, or ["*"]. Empty ({}) leaves the setting out: every caller may act on every customer.')
param callerPolicy object = {}

@description('PROTECTED_ROLE_GUARD: read the target and its directory roles before a reset; false skips both reads.')
param protectedRoleGuard bool = true

@description('PROTECTED_ROLE_IDS: comma-separated role template IDs replacing the default protected list; empty keeps Microsoft\'s privileged roles.')
param protectedRoleIds string = ''

@description('LOOKUP_CACHE_SECONDS: how long a resolved domain or UPN is reused.')
@minValue(0)
param lookupCacheSeconds int = 3600

@description('LOOKUP_MISS_CACHE_SECONDS: how long a domain or UPN that was not found is remembered as missing.')
@minValue(0)
param lookupMissCacheSeconds int = 60

@description('HEALTH_REFRESH_TOKEN_WARNING_DAYS: days since the refresh token was stored before the credentials health check warns.')
@minValue(1)
@maxValue(89)
param healthRefreshTokenWarningDays int = 60

@description('HEALTH_REFRESH_TOKEN_CRITICAL_DAYS: days since the refresh token was stored before the check is critical (below its 90-day life).')
@minValue(1)
@maxValue(89)
param healthRefreshTokenCriticalDays int = 80

@description('HEALTH_APP_SECRET_WARNING_DAYS: days before the app secret expires when the check warns.')
@minValue(0)
@maxValue(3650)
param healthAppSecretWarningDays int = 30

@description('HEALTH_APP_SECRET_CRITICAL_DAYS: days before the app secret expires when the check is critical.')
@minValue(0)
@maxValue(3650)
param healthAppSecretCriticalDays int = 7

@description('HEALTH_PROBE_MIN_SECONDS: at most one real token exchange per this many seconds per instance for ?probe=true.')
@minValue(0)
@maxValue(3600)
param healthProbeMinSeconds int = 300

// --- One-time password links ---------------------------------------------------------------

@description('SECRET_LINK_TTL_MINUTES: how long a one-time password link can be revealed.')
@minValue(5)
@maxValue(10080)
param secretLinkTtlMinutes int = 1440

@description('GENERATED_PASSWORD_LENGTH: characters of a password the function generates.')
@minValue(12)
@maxValue(256)
param generatedPasswordLength int = 16

@description('PUBLIC_BASE_URL: the origin one-time links point to (https). Empty: the app\'s own https://{default host name}.')
param publicBaseUrl string = ''

// --- Scale -------------------------------------------------------------------------------

// 40 is the lowest maximum the Flex Consumption documentation promises in every region.
@description('MAXIMUM_INSTANCE_COUNT: most instances the function app scales out to.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

@description('INSTANCE_MEMORY_MB: memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('HTTP_PER_INSTANCE_CONCURRENCY: most HTTP requests one instance works on at once; keep it at or below pythonThreadpoolThreadCount.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('PYTHON_THREADPOOL_THREAD_COUNT: threads of the Python worker that run the (synchronous) handlers; 32 is the documented maximum.')
@minValue(1)
@maxValue(32)
param pythonThreadpoolThreadCount int = 16

@description('ZONE_REDUNDANT: spread the app over availability zones (only where Flex Consumption offers it). Also makes host storage ZRS and keeps at least two always-ready instances per scale group, billed while idle. Decide before the first azd up.')
param zoneRedundant bool = false

@description('ALWAYS_READY_HTTP_INSTANCES: instances kept running for the HTTP functions (billed while idle); at least 2 when zoneRedundant.')
@minValue(0)
@maxValue(1000)
param alwaysReadyHttpInstances int = 0

// --- Monitoring and alerts ---------------------------------------------------------------

// The audit lives in the workspace: it must outlast the 30 days an investigation may need to
// reach back. infra/README.md states what days beyond the 31 included in the ingestion
// price cost.
@description('LOG_RETENTION_DAYS: days the Log Analytics workspace keeps logs, the password-reset audit included (30-730).')
@minValue(30)
@maxValue(730)
param logRetentionDays int = 90

@description('ALERT_EMAIL: the address the alert rules e-mail. Empty: no action group; the rules still fire (Monitor, Alerts) but reach nobody, which the preprovision hook says at every provision.')
param alertEmail string = ''

@description('ALERT_RESETS_PER_HOUR: passwords reset in one hour, across callers, above which the "many resets" alert fires (how far a leaked key could go).')
@minValue(1)
param alertResetsPerHour int = 30

@description('ALERT_REFUSALS_PER_CALLER_PER_HOUR: refusals (forbidden, protected_user) of one caller in one hour above which the "refusals by one caller" alert fires.')
@minValue(1)
param alertRefusalsPerCallerPerHour int = 10

@description('ALERT_SERVER_ERROR_PERCENT: percent of reset attempts answered 5xx in 15 minutes at or above which the "server errors" alert fires.')
@minValue(1)
@maxValue(100)
param alertServerErrorPercent int = 25

@description('ALERT_SERVER_ERROR_MIN_ATTEMPTS: attempts in 15 minutes below which the 5xx share is not judged (one failure in one attempt is not a rate).')
@minValue(1)
param alertServerErrorMinAttempts int = 5

var abbrs = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = '${abbrs.webSitesFunctions}api-${resourceToken}'
var deploymentContainerName = 'app-package-${resourceToken}'
// kv- (3) + token (13) + '-' + salt (7 at most) = 24, the longest vault name Azure accepts.
var keyVaultName = empty(keyVaultNameSalt) ? '${abbrs.keyVaultVaults}${resourceToken}' : '${abbrs.keyVaultVaults}${resourceToken}-${keyVaultNameSalt}'

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
    retentionInDays: logRetentionDays
  }
}

// Alert rules on the workspace's records, e-mailing ALERT_EMAIL (infra/README.md#alerts).
module alerts 'app/alerts.bicep' = {
  name: 'alerts'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: monitoring.outputs.logAnalyticsWorkspaceId
    nameSuffix: resourceToken
    alertEmail: alertEmail
    resetsPerHour: alertResetsPerHour
    refusalsPerCallerPerHour: alertRefusalsPerCallerPerHour
    serverErrorPercent: alertServerErrorPercent
    serverErrorMinimumAttempts: alertServerErrorMinAttempts
  }
}

// The workbook over the same records (infra/README.md#workbook).
module workbook 'app/workbook.bicep' = {
  name: 'workbook'
  scope: rg
  params: {
    location: location
    tags: tags
    workspaceId: monitoring.outputs.logAnalyticsWorkspaceId
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
    // Zone-redundant Flex Consumption apps should keep their host state in zone-redundant storage.
    skuName: zoneRedundant ? 'Standard_ZRS' : 'Standard_LRS'
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
  }
}

module keyVault 'app/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: keyVaultName
    location: location
    tags: tags
    publicNetworkAccess: vnetEnabled ? 'Disabled' : 'Enabled'
    logAnalyticsWorkspaceId: monitoring.outputs.logAnalyticsWorkspaceId
  }
}

module network 'app/network.bicep' = if (vnetEnabled) {
  name: 'network'
  scope: rg
  params: {
    name: '${abbrs.networkVirtualNetworks}${resourceToken}'
    location: location
    tags: tags
  }
}

// One private endpoint, with its private DNS zone, per storage service the host uses and one
// for the vault. They exist only with the virtual network.
module blobEndpoint 'app/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'private-endpoint-blob'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}blob-${resourceToken}'
    location: location
    tags: tags
    groupId: 'blob'
    privateDnsZoneName: 'privatelink.blob.${environment().suffixes.storage}'
    targetResourceId: storage.outputs.id
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    virtualNetworkId: vnetEnabled ? network.outputs.id : ''
  }
}

module queueEndpoint 'app/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'private-endpoint-queue'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}queue-${resourceToken}'
    location: location
    tags: tags
    groupId: 'queue'
    privateDnsZoneName: 'privatelink.queue.${environment().suffixes.storage}'
    targetResourceId: storage.outputs.id
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    virtualNetworkId: vnetEnabled ? network.outputs.id : ''
  }
}

module tableEndpoint 'app/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'private-endpoint-table'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}table-${resourceToken}'
    location: location
    tags: tags
    groupId: 'table'
    privateDnsZoneName: 'privatelink.table.${environment().suffixes.storage}'
    targetResourceId: storage.outputs.id
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    virtualNetworkId: vnetEnabled ? network.outputs.id : ''
  }
}

module vaultEndpoint 'app/private-endpoint.bicep' = if (vnetEnabled) {
  name: 'private-endpoint-vault'
  scope: rg
  params: {
    name: '${abbrs.networkPrivateEndpoints}vault-${resourceToken}'
    location: location
    tags: tags
    groupId: 'vault'
    // privatelink.vaultcore.azure.net in the public cloud; the matching zone in sovereign ones.
    privateDnsZoneName: 'privatelink${replace(environment().suffixes.keyvaultDns, '.vault.', '.vaultcore.')}'
    targetResourceId: keyVault.outputs.id
    subnetId: vnetEnabled ? network.outputs.privateEndpointSubnetId : ''
    virtualNetworkId: vnetEnabled ? network.outputs.id : ''
  }
}

// Storage, telemetry and the operator's vault role. The app's own Key Vault roles are scoped
// to single secrets, so they can only be granted once the secrets exist: the postprovision hook
// (infra/hooks/postprovision.py) does that after the operator has loaded them.
module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    identityPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
    operatorPrincipalType: principalType
    grantOperatorSecretsOfficer: grantDeployerSecretsOfficer
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
    appSubnetId: vnetEnabled ? network.outputs.appSubnetId : ''
    partnerTenantId: partnerTenantId
    secretNameAppId: secretNameAppId
    secretNameAppSecret: secretNameAppSecret
    secretNameRefreshToken: secretNameRefreshToken
    partnerCenterBaseUrl: partnerCenterBaseUrl
    partnerCenterResource: partnerCenterResource
    partnerCenterResetCall: partnerCenterResetCall
    authorityHost: authorityHost
    graphBaseUrl: graphBaseUrl
    resetDeadlineSeconds: resetDeadlineSeconds
    secretCacheSeconds: secretCacheSeconds
    rotateRefreshToken: rotateRefreshToken
    refreshTokenRotationSchedule: refreshTokenRotationSchedule
    credentialsCheckSchedule: credentialsCheckSchedule
    callerTenantId: callerTenantId
    callerAudience: callerAudience
    callerRequiredRole: callerRequiredRole
    callerOperatorRole: callerOperatorRole
    callerPolicy: callerPolicy
    protectedRoleGuard: protectedRoleGuard
    protectedRoleIds: protectedRoleIds
    lookupCacheSeconds: lookupCacheSeconds
    lookupMissCacheSeconds: lookupMissCacheSeconds
    healthRefreshTokenWarningDays: healthRefreshTokenWarningDays
    healthRefreshTokenCriticalDays: healthRefreshTokenCriticalDays
    healthAppSecretWarningDays: healthAppSecretWarningDays
    healthAppSecretCriticalDays: healthAppSecretCriticalDays
    healthProbeMinSeconds: healthProbeMinSeconds
    secretLinkTtlMinutes: secretLinkTtlMinutes
    generatedPasswordLength: generatedPasswordLength
    publicBaseUrl: publicBaseUrl
    pythonThreadpoolThreadCount: pythonThreadpoolThreadCount
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
    httpPerInstanceConcurrency: httpPerInstanceConcurrency
    zoneRedundant: zoneRedundant
    alwaysReadyHttpInstances: alwaysReadyHttpInstances
  }
  // The host starts as soon as the app exists: give it its storage and telemetry roles first,
  // and, with the virtual network, the private endpoints it reaches storage and the vault by.
  dependsOn: [
    rbac
    blobEndpoint
    queueEndpoint
    tableEndpoint
    vaultEndpoint
  ]
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output SERVICE_API_NAME string = api.outputs.name
output AZURE_FUNCTION_URI string = 'https://${api.outputs.defaultHostName}'
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name
output AZURE_KEY_VAULT_ID string = keyVault.outputs.id
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId
output AZURE_USER_ASSIGNED_IDENTITY_PRINCIPAL_ID string = identity.outputs.principalId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
// Where `python3 -m ops audit` reads the audit: the workspace's GUID, not its resource ID.
output AZURE_LOG_ANALYTICS_WORKSPACE_ID string = monitoring.outputs.logAnalyticsCustomerId
// What the postprovision hook grants on, exactly as deployed (names of secrets, never values).
output SECRET_NAME_APP_ID string = secretNameAppId
output SECRET_NAME_APP_SECRET string = secretNameAppSecret
output SECRET_NAME_REFRESH_TOKEN string = secretNameRefreshToken
output ROTATE_REFRESH_TOKEN bool = rotateRefreshToken
output VNET_ENABLED bool = vnetEnabled
// Whether the deployer keeps a standing vault role, and who that is: the hook points out one
// left behind after the switch was turned off.
output GRANT_DEPLOYER_SECRETS_OFFICER bool = grantDeployerSecretsOfficer
output DEPLOYER_PRINCIPAL_ID string = principalId
