// The Flex Consumption plan and the function app. The app runs as the user-assigned identity;
// its settings name where the secrets live, never what they are.

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

@description('The partner\'s own Entra tenant ID, for PARTNER_TENANT_ID.')
param partnerTenantId string

@description('Name of the secret that holds the Secure Application Model app\'s client ID.')
param secretNameAppId string = 'partner-center-app-id'

@description('Name of the secret that holds that app\'s client secret.')
param secretNameAppSecret string = 'partner-center-app-secret'

@description('Name of the secret that holds the partner admin\'s refresh token.')
param secretNameRefreshToken string = 'partner-center-refresh-token'

@description('Whether the app writes each new refresh token back to Key Vault.')
param rotateRefreshToken bool = true

@description('Tenant whose Entra ID tokens callers must present; empty leaves the setting out.')
param callerTenantId string = ''

@description('Audience those tokens must carry; empty leaves the setting out.')
param callerAudience string = ''

@description('Worker threads per Python worker process (PYTHON_THREADPOOL_THREAD_COUNT).')
@minValue(1)
@maxValue(64)
param pythonThreadpoolThreadCount int = 16

@description('Most instances the app scales out to.')
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

@description('Most HTTP requests one instance works on at once.')
@minValue(1)
@maxValue(1000)
param httpPerInstanceConcurrency int = 16

@description('Spread instances over availability zones (only in regions that offer it for Flex Consumption; keeps at least two always-ready instances, billed while idle).')
param zoneRedundant bool = false

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
    name: 'ROTATE_REFRESH_TOKEN'
    value: rotateRefreshToken ? 'true' : 'false'
  }
  {
    name: 'PYTHON_THREADPOOL_THREAD_COUNT'
    value: string(pythonThreadpoolThreadCount)
  }
]

// Caller-token settings appear only when given, so an empty value never reaches the app.
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
    // checkov:skip=CKV_AZURE_225:Zone redundancy is the zoneRedundant parameter, off by default: on Flex Consumption it keeps at least two always-ready instances billed while idle, and not every region offers it.
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
    httpsOnly: true
    clientCertEnabled: false
    siteConfig: {
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(baseAppSettings, callerTenantAppSettings, callerAudienceAppSettings)
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
