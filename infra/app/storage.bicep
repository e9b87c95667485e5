// Storage for the Functions host (AzureWebJobsStorage) and for the Flex Consumption
// deployment package. Reached only with Microsoft Entra ID: shared keys and SAS signed with
// them are turned off, so there is no connection string to leak. With vnetEnabled it is
// reached only through private endpoints (blob, queue, table) from the app's network.

@description('Name of the storage account (3-24 lower-case letters and digits).')
param name string

@description('Azure region of the account.')
param location string

@description('Tags put on the account.')
param tags object = {}

@description('Blob container that holds the deployment package azd uploads.')
param deploymentContainerName string

@description('Redundancy of the account. LRS is enough for one zone: the host keeps only locks, keys and the package here; main.bicep picks ZRS for a zone-redundant app.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
  'Standard_GZRS'
])
param skuName string = 'Standard_LRS'

@description('Disabled (main.bicep: whenever vnetEnabled): only the private endpoints answer and the firewall denies by default. Enabled (no virtual network): the public endpoint, Entra ID only.')
@allowed([
  'Enabled'
  'Disabled'
])
param publicNetworkAccess string

var firewallDefaultAction = (publicNetworkAccess == 'Disabled') ? 'Deny' : 'Allow'

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: skuName
  }
  properties: {
    // checkov:skip=CKV_AZURE_35:The default action is Deny whenever vnetEnabled is true (asserted in tests/infra); it stays Allow only without a virtual network, where the host has no other way in and every request still needs a Microsoft Entra token (shared keys are off). checkov does not evaluate the condition.
    // checkov:skip=CKV_AZURE_206:Locally redundant storage is a deliberate default (skuName parameter, ZRS when the app is zone redundant): the account holds only host locks, function keys and a package that azd can upload again.
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    publicNetworkAccess: publicNetworkAccess
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: firewallDefaultAction
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    deleteRetentionPolicy: {
      enabled: true
      days: 7
    }
    containerDeleteRetentionPolicy: {
      enabled: true
      days: 7
    }
  }
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

// Batches (contract 1d): the queue the batch worker's trigger reads, the poison queue the host
// moves a message to after its last failed attempt, and the table of each batch's status. Made
// here so that the app's identity needs data roles only (rbac.bicep); the app also makes them
// on first use where they are missing (Azurite).
resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource batchQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'reset-batch'
}

resource batchPoisonQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = {
  parent: queueService
  name: 'reset-batch-poison'
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource batchTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'batches'
}

// The weekly rotation's checks as its last run left them (credentials/outcome_table.py), for
// the daily checks timer to report again every day; the app makes it where it is missing.
resource credentialChecksTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'credentialchecks'
}

output name string = storage.name
output id string = storage.id
output blobEndpoint string = storage.properties.primaryEndpoints.blob
output deploymentContainerName string = deploymentContainer.name
