// The one user-assigned managed identity: the function app runs as it, the Functions host
// reaches its storage with it, the app reads Key Vault with it (AZURE_CLIENT_ID) and
// Application Insights accepts its telemetry through it.

@description('Name of the user-assigned managed identity.')
param name string

@description('Azure region of the identity.')
param location string

@description('Tags put on the identity.')
param tags object = {}

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output clientId string = identity.properties.clientId
output principalId string = identity.properties.principalId
