// One private endpoint into the virtual network, with the private DNS zone that makes the
// service's usual host name (for example <account>.blob.core.windows.net) resolve to it from
// inside the network. main.bicep calls this once each for blob, queue, table and the vault.

@description('Name of the private endpoint.')
param name string

@description('Azure region of the private endpoint (the DNS zone is global).')
param location string

@description('Tags put on the endpoint, the zone and the zone\'s network link.')
param tags object = {}

@description('Sub-resource the endpoint connects to.')
@allowed([
  'blob'
  'queue'
  'table'
  'vault'
])
param groupId string

@description('Private DNS zone of that sub-resource, for example privatelink.blob.core.windows.net.')
param privateDnsZoneName string

@description('Resource ID of the storage account or vault.')
param targetResourceId string

@description('Resource ID of the subnet the endpoint gets its address from.')
param subnetId string

@description('Resource ID of the virtual network the DNS zone is linked to.')
param virtualNetworkId string

resource zone 'Microsoft.Network/privateDnsZones@2024-06-01' = {
  name: privateDnsZoneName
  location: 'global'
  tags: tags
}

resource zoneLink 'Microsoft.Network/privateDnsZones/virtualNetworkLinks@2024-06-01' = {
  parent: zone
  name: 'link-${uniqueString(virtualNetworkId)}'
  location: 'global'
  tags: tags
  properties: {
    registrationEnabled: false
    virtualNetwork: {
      id: virtualNetworkId
    }
  }
}

resource endpoint 'Microsoft.Network/privateEndpoints@2024-05-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    subnet: {
      id: subnetId
    }
    privateLinkServiceConnections: [
      {
        name: name
        properties: {
          privateLinkServiceId: targetResourceId
          groupIds: [
            groupId
          ]
        }
      }
    ]
  }
}

// Registers the endpoint's address in the zone (and removes it with the endpoint).
resource zoneGroup 'Microsoft.Network/privateEndpoints/privateDnsZoneGroups@2024-05-01' = {
  parent: endpoint
  name: 'default'
  properties: {
    privateDnsZoneConfigs: [
      {
        name: groupId
        properties: {
          privateDnsZoneId: zone.id
        }
      }
    ]
  }
}

output id string = endpoint.id
output privateDnsZoneId string = zone.id
