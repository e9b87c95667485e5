// The Flex Consumption plan and the function app. The app runs as the user-assigned identity;
// its settings name where the secrets live, never what they are. siteConfig.appSettings replaces
// the app's whole settings list on every provision: a setting belongs in main.bicep and
// main.parameters.json, never only in the portal.

@description('Name of the function app.')
param name string

@description('Name of the Flex Consumption plan.')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags put on the plan.')
param tags object = {}

@description('Tags put on the app (azd finds the app to deploy by its azd-service-name tag).')
param appTags object = {}

@description('Resource ID of the user-assigned managed identity.')
param identityId string

@description('Client ID of the user-assigned managed identity.')
param identityClientId string

@description('Storage account of the Functions host and the deployment package.')
param storageAccountName string

@description('Blob endpoint of that account, ending in a slash.')
param storageBlobEndpoint string

@description('Container of the deployment package.')
param deploymentContainerName string

@description('Application Insights connection string (not a secret: local auth is off, ingestion needs the identity).')
param applicationInsightsConnectionString string

@description('Vault URI, for KEY_VAULT_URL.')
param keyVaultUri string

@description('Subnet delegated to Flex Consumption for virtual network integration; empty: no virtual network.')
param appSubnetId string = ''

// App settings. main.bicep holds their defaults (the contract's) and range checks; every one is
// passed here, so the settings below are exactly what main.parameters.json and the azd
// environment say.

@description('PARTNER_TENANT_ID')
param partnerTenantId string

@description('SECRET_NAME_APP_ID')
param secretNameAppId string

@description('SECRET_NAME_APP_SECRET')
param secretNameAppSecret string

@description('SECRET_NAME_REFRESH_TOKEN')
param secretNameRefreshToken string

@description('PARTNER_CENTER_BASE_URL')
param partnerCenterBaseUrl string

@description('PARTNER_CENTER_RESOURCE')
param partnerCenterResource string

@description('PARTNER_CENTER_RESET_CALL')
param partnerCenterResetCall string

@description('AUTHORITY_HOST')
param authorityHost string

@description('GRAPH_BASE_URL')
param graphBaseUrl string

@description('RESET_DEADLINE_SECONDS')
param resetDeadlineSeconds int

@description('SECRET_CACHE_SECONDS')
param secretCacheSeconds int

@description('ROTATE_REFRESH_TOKEN')
param rotateRefreshToken bool

@description('REFRESH_TOKEN_ROTATION_SCHEDULE')
param refreshTokenRotationSchedule string

@description('CREDENTIALS_CHECK_SCHEDULE')
param credentialsCheckSchedule string

@description('CALLER_TENANT_ID; empty leaves the setting out.')
param callerTenantId string

@description('CALLER_AUDIENCE; empty leaves the setting out.')
param callerAudience string

@description('CALLER_REQUIRED_ROLE')
param callerRequiredRole string

@description('CALLER_OPERATOR_ROLE')
param callerOperatorRole string

@description('CALLER_POLICY as an object; empty leaves the setting out (every caller, every customer).')
param callerPolicy object

@description('PROTECTED_ROLE_GUARD')
param protectedRoleGuard bool

@description('PROTECTED_ROLE_IDS; empty leaves the setting out (Microsoft\'s privileged roles).')
param protectedRoleIds string

@description('LOOKUP_CACHE_SECONDS')
param lookupCacheSeconds int

@description('LOOKUP_MISS_CACHE_SECONDS')
param lookupMissCacheSeconds int

@description('HEALTH_REFRESH_TOKEN_WARNING_DAYS')
param healthRefreshTokenWarningDays int

@description('HEALTH_REFRESH_TOKEN_CRITICAL_DAYS')
param healthRefreshTokenCriticalDays int

@description('HEALTH_APP_SECRET_WARNING_DAYS')
param healthAppSecretWarningDays int

@description('HEALTH_APP_SECRET_CRITICAL_DAYS')
param healthAppSecretCriticalDays int

@description('HEALTH_PROBE_MIN_SECONDS')
param healthProbeMinSeconds int

@description('SECRET_LINK_TTL_MINUTES')
param secretLinkTtlMinutes int

@description('GENERATED_PASSWORD_LENGTH')
param generatedPasswordLength int

@description('PUBLIC_BASE_URL; empty leaves the setting out (the app\'s own https origin).')
param publicBaseUrl string

@description('PYTHON_THREADPOOL_THREAD_COUNT')
param pythonThreadpoolThreadCount int

@description('Most instances the app scales out to.')
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
param instanceMemoryMB int

@description('Most HTTP requests one instance works on at once.')
param httpPerInstanceConcurrency int

@description('Spread instances over availability zones.')
param zoneRedundant bool

@description('Always-ready instances for the HTTP functions; raised to 2 when zoneRedundant.')
param alwaysReadyHttpInstances int

// Timer triggers outside the HTTP group scale, and are kept ready, each as a group of its own:
// the weekly refresh-token exchange (credentials/rotation.py) and the daily credentials checks
// (credentials/daily_checks.py).
var rotationFunctionName = 'rotate_refresh_token'
var checksFunctionName = 'check_credentials_daily'

// A zone-redundant Flex Consumption app needs at least two always-ready instances in every scale
// group, so that each zone has one.
var zoneRedundantMinimum = 2
var httpAlwaysReady = zoneRedundant ? max(zoneRedundantMinimum, alwaysReadyHttpInstances) : alwaysReadyHttpInstances
var httpAlwaysReadyGroup = (httpAlwaysReady > 0) ? [
  {
    name: 'http'
    instanceCount: httpAlwaysReady
  }
] : []
var rotationAlwaysReadyGroup = zoneRedundant ? [
  {
    name: 'function:${rotationFunctionName}'
    instanceCount: zoneRedundantMinimum
  }
] : []
var checksAlwaysReadyGroup = zoneRedundant ? [
  {
    name: 'function:${checksFunctionName}'
    instanceCount: zoneRedundantMinimum
  }
] : []

// APPLICATIONINSIGHTS_*: the worker exports its own log records too (worker/log_export.py), so the
// fields of the audit record reach customDimensions. What that exporter does besides is off:
// statistics sent to Microsoft, remote configuration polled from Microsoft, usage metrics about
// itself. The worker switches PYTHON_ENABLE_OPENTELEMETRY and
// PYTHON_APPLICATIONINSIGHTS_ENABLE_TELEMETRY stay unset (see Operating it in README.md).
var baseAppSettings = [
  {
    name: 'AzureWebJobsStorage__accountName'
    value: storageAccountName
  }
  {
    name: 'AzureWebJobsStorage__credential'
    value: 'managedidentity'
  }
  {
    name: 'AzureWebJobsStorage__clientId'
    value: identityClientId
  }
  {
    name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
    value: applicationInsightsConnectionString
  }
  {
    name: 'APPLICATIONINSIGHTS_AUTHENTICATION_STRING'
    value: 'ClientId=${identityClientId};Authorization=AAD'
  }
  {
    name: 'APPLICATIONINSIGHTS_STATSBEAT_DISABLED_ALL'
    value: 'true'
  }
  {
    name: 'APPLICATIONINSIGHTS_CONTROLPLANE_DISABLED'
    value: 'true'
  }
  {
    name: 'APPLICATIONINSIGHTS_SDKSTATS_DISABLED'
    value: 'true'
  }
  {
    name: 'AZURE_CLIENT_ID'
    value: identityClientId
  }
  {
    name: 'KEY_VAULT_URL'
    value: keyVaultUri
  }
  {
    name: 'PARTNER_TENANT_ID'
    value: partnerTenantId
  }
  {
    name: 'SECRET_NAME_APP_ID'
    value: secretNameAppId
  }
  {
    name: 'SECRET_NAME_APP_SECRET'
    value: secretNameAppSecret
  }
  {
    name: 'SECRET_NAME_REFRESH_TOKEN'
    value: secretNameRefreshToken
  }
  {
    name: 'PARTNER_CENTER_BASE_URL'
    value: partnerCenterBaseUrl
  }
  {
    name: 'PARTNER_CENTER_RESOURCE'
    value: partnerCenterResource
  }
  {
    name: 'PARTNER_CENTER_RESET_CALL'
    value: partnerCenterResetCall
  }
  {
    name: 'AUTHORITY_HOST'
    value: authorityHost
  }
  {
    name: 'GRAPH_BASE_URL'
    value: graphBaseUrl
  }
  {
    name: 'RESET_DEADLINE_SECONDS'
    value: string(resetDeadlineSeconds)
  }
  {
    name: 'SECRET_CACHE_SECONDS'
    value: string(secretCacheSeconds)
  }
  {
    name: 'ROTATE_REFRESH_TOKEN'
    value: rotateRefreshToken ? 'true' : 'false'
  }
  {
    name: 'REFRESH_TOKEN_ROTATION_SCHEDULE'
    value: refreshTokenRotationSchedule
  }
  {
    name: 'CREDENTIALS_CHECK_SCHEDULE'
    value: credentialsCheckSchedule
  }
  {
    name: 'CALLER_REQUIRED_ROLE'
    value: callerRequiredRole
  }
  {
    name: 'CALLER_OPERATOR_ROLE'
    value: callerOperatorRole
  }
  {
    name: 'PROTECTED_ROLE_GUARD'
    value: protectedRoleGuard ? 'true' : 'false'
  }
  {
    name: 'LOOKUP_CACHE_SECONDS'
    value: string(lookupCacheSeconds)
  }
  {
    name: 'LOOKUP_MISS_CACHE_SECONDS'
    value: string(lookupMissCacheSeconds)
  }
  {
    name: 'HEALTH_REFRESH_TOKEN_WARNING_DAYS'
    value: string(healthRefreshTokenWarningDays)
  }
  {
    name: 'HEALTH_REFRESH_TOKEN_CRITICAL_DAYS'
    value: string(healthRefreshTokenCriticalDays)
  }
  {
    name: 'HEALTH_APP_SECRET_WARNING_DAYS'
    value: string(healthAppSecretWarningDays)
  }
  {
    name: 'HEALTH_APP_SECRET_CRITICAL_DAYS'
    value: string(healthAppSecretCriticalDays)
  }
  {
    name: 'HEALTH_PROBE_MIN_SECONDS'
    value: string(healthProbeMinSeconds)
  }
  {
    name: 'SECRET_LINK_TTL_MINUTES'
    value: string(secretLinkTtlMinutes)
  }
  {
    name: 'GENERATED_PASSWORD_LENGTH'
    value: string(generatedPasswordLength)
  }
  {
    name: 'PYTHON_THREADPOOL_THREAD_COUNT'
    value: string(pythonThreadpoolThreadCount)
  }
]

// Optional settings appear only when given, so an empty value never reaches the app (an empty
// CALLER_POLICY would mean "no caller may act on any customer", not "unset").
var callerTenantAppSettings = empty(callerTenantId) ? [] : [
  {
    name: 'CALLER_TENANT_ID'
    value: callerTenantId
  }
]

var callerAudienceAppSettings = empty(callerAudience) ? [] : [
  {
    name: 'CALLER_AUDIENCE'
    value: callerAudience
  }
]

var callerPolicyAppSettings = empty(callerPolicy) ? [] : [
  {
    name: 'CALLER_POLICY'
    value: string(callerPolicy)
  }
]

var protectedRoleIdsAppSettings = empty(protectedRoleIds) ? [] : [
  {
    name: 'PROTECTED_ROLE_IDS'
    value: protectedRoleIds
  }
]

var publicBaseUrlAppSettings = empty(publicBaseUrl) ? [] : [
  {
    name: 'PUBLIC_BASE_URL'
    value: publicBaseUrl
  }
]

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    // checkov:skip=CKV_AZURE_225:Zone redundancy is the zoneRedundant parameter (ZONE_REDUNDANT), off by default: on Flex Consumption it keeps at least two always-ready instances per scale group billed while idle, and not every region offers it.
    reserved: true
    zoneRedundant: zoneRedundant
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: appTags
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    // checkov:skip=CKV_AZURE_222:The API is called from Power Automate and ServiceNow over the internet; callers are authenticated by a function key and, when CALLER_TENANT_ID is set, an Entra ID token.
    // checkov:skip=CKV_AZURE_212:siteConfig.numberOfWorkers belongs to Dedicated and Premium plans; Flex Consumption adds instances on demand up to maximumInstanceCount.
    // checkov:skip=CKV_AZURE_213:The App Service health check (siteConfig.healthCheckPath) is not offered on Flex Consumption; GET /api/health serves external availability tests.
    // checkov:skip=CKV_AZURE_17:Client certificates would break the documented callers (Power Automate custom connector, ServiceNow REST Message); callers authenticate with a function key or an Entra ID token.
    serverFarmId: plan.id
    // Outbound traffic through the delegated subnet when the virtual network is on.
    virtualNetworkSubnetId: empty(appSubnetId) ? null : appSubnetId
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(baseAppSettings, callerTenantAppSettings, callerAudienceAppSettings, callerPolicyAppSettings, protectedRoleIdsAppSettings, publicBaseUrlAppSettings)
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        alwaysReady: concat(httpAlwaysReadyGroup, rotationAlwaysReadyGroup, checksAlwaysReadyGroup)
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
        triggers: {
          http: {
            perInstanceConcurrency: httpPerInstanceConcurrency
          }
        }
      }
      runtime: {
        name: 'python'
        version: '3.11'
      }
    }
  }
}

// No publishing with user names and passwords: azd deploys with an Entra token.
resource ftpPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'ftp'
  properties: {
    allow: false
  }
}

resource scmPublishing 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: functionApp
  name: 'scm'
  properties: {
    allow: false
  }
}

output name string = functionApp.name
output id string = functionApp.id
output defaultHostName string = functionApp.properties.defaultHostName
