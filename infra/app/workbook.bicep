// The workbook a helpdesk lead opens instead of the logs (Azure Monitor Workbooks, deployed with
// the app): five pages over the Log Analytics workspace, each chart or table one query file of
// infra/queries (checked by the tests with the Kusto language service), and a time range that
// every query follows.

@description('Azure region of the workbook.')
param location string

@description('Tags put on the workbook.')
param tags object = {}

@description('Resource ID of the Log Analytics workspace the workbook queries.')
param workspaceId string

@description('Name shown in the portal (Monitor, Workbooks; and the workspace\'s Workbooks).')
param displayName string = 'Password resets'

var workspaceType = 'microsoft.operationalinsights/workspaces'
var day = 86400000
// One chart or table: a query file, run over the workspace for the chosen time range.
var resetsByOutcome = {
  type: 3
  name: 'resets-by-outcome'
  content: {
    version: 'KqlItem/1.0'
    title: 'Reset attempts per hour, by outcome'
    query: loadTextContent('../queries/workbook-resets-by-outcome.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'barchart'
    size: 0
  }
}
var resetsByCaller = {
  type: 3
  name: 'resets-by-caller'
  content: {
    version: 'KqlItem/1.0'
    title: 'By caller'
    query: loadTextContent('../queries/workbook-resets-by-caller.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'table'
    size: 0
  }
}
var resetsByCustomer = {
  type: 3
  name: 'resets-by-customer'
  content: {
    version: 'KqlItem/1.0'
    title: 'By customer'
    query: loadTextContent('../queries/workbook-resets-by-customer.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'table'
    size: 0
  }
}
var latency = {
  type: 3
  name: 'latency'
  content: {
    version: 'KqlItem/1.0'
    title: 'Time from request to answer (ms), median and 95th percentile per hour'
    query: loadTextContent('../queries/workbook-latency.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'timechart'
    size: 0
  }
}
var refusals = {
  type: 3
  name: 'refusals'
  content: {
    version: 'KqlItem/1.0'
    title: 'Refused requests (4xx) by code'
    query: loadTextContent('../queries/workbook-refusals.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'barchart'
    size: 0
  }
}
var credentialsHealth = {
  type: 3
  name: 'credentials-health'
  content: {
    version: 'KqlItem/1.0'
    title: 'Credentials checks per day (0 ok, 1 warning, 2 critical)'
    query: loadTextContent('../queries/workbook-credentials-health.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'timechart'
    size: 0
  }
}
var credentialsLatest = {
  type: 3
  name: 'credentials-latest'
  content: {
    version: 'KqlItem/1.0'
    title: 'Latest status of each check (daily checks and weekly rotation)'
    query: loadTextContent('../queries/workbook-credentials-latest.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'table'
    size: 0
  }
}
var batches = {
  type: 3
  name: 'batches'
  content: {
    version: 'KqlItem/1.0'
    title: 'Batches, newest first'
    query: loadTextContent('../queries/workbook-batches.kql')
    queryType: 0
    resourceType: workspaceType
    timeContextFromParameter: 'TimeRange'
    visualization: 'table'
    size: 0
  }
}

// A page: a group shown while its tab is selected.
var resetsPage = {
  type: 12
  name: 'page-resets'
  content: {
    version: 'NotebookGroup/1.0'
    groupType: 'editable'
    items: [
      resetsByOutcome
      resetsByCaller
      resetsByCustomer
    ]
  }
  conditionalVisibility: {
    parameterName: 'page'
    comparison: 'isEqualTo'
    value: 'resets'
  }
}
var latencyPage = {
  type: 12
  name: 'page-latency'
  content: {
    version: 'NotebookGroup/1.0'
    groupType: 'editable'
    items: [
      latency
    ]
  }
  conditionalVisibility: {
    parameterName: 'page'
    comparison: 'isEqualTo'
    value: 'latency'
  }
}
var refusalsPage = {
  type: 12
  name: 'page-refusals'
  content: {
    version: 'NotebookGroup/1.0'
    groupType: 'editable'
    items: [
      refusals
    ]
  }
  conditionalVisibility: {
    parameterName: 'page'
    comparison: 'isEqualTo'
    value: 'refusals'
  }
}
var credentialsPage = {
  type: 12
  name: 'page-credentials'
  content: {
    version: 'NotebookGroup/1.0'
    groupType: 'editable'
    items: [
      credentialsLatest
      credentialsHealth
    ]
  }
  conditionalVisibility: {
    parameterName: 'page'
    comparison: 'isEqualTo'
    value: 'credentials'
  }
}
var batchesPage = {
  type: 12
  name: 'page-batches'
  content: {
    version: 'NotebookGroup/1.0'
    groupType: 'editable'
    items: [
      batches
    ]
  }
  conditionalVisibility: {
    parameterName: 'page'
    comparison: 'isEqualTo'
    value: 'batches'
  }
}

var workbookContent = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      name: 'title'
      content: {
        json: '# Password resets\nWhat the reset function did: from its audit records and the credentials timers\' checks in the Log Analytics workspace. infra/README.md explains each page.'
      }
    }
    {
      type: 9
      name: 'parameters'
      content: {
        version: 'KqlParameterItem/1.0'
        style: 'pills'
        queryType: 0
        resourceType: workspaceType
        parameters: [
          {
            id: '6f1d5a52-2d0c-4c55-9a0e-7a4f2b1c9e01'
            version: 'KqlParameterItem/1.0'
            name: 'TimeRange'
            label: 'Time range'
            type: 4
            isRequired: true
            value: {
              durationMs: 7 * day
            }
            typeSettings: {
              allowCustom: true
              selectableValues: [
                {
                  durationMs: day
                }
                {
                  durationMs: 7 * day
                }
                {
                  durationMs: 30 * day
                }
                {
                  durationMs: 90 * day
                }
              ]
            }
          }
          {
            id: '6f1d5a52-2d0c-4c55-9a0e-7a4f2b1c9e02'
            version: 'KqlParameterItem/1.0'
            name: 'page'
            type: 1
            isHiddenWhenLocked: true
            value: 'resets'
          }
        ]
      }
    }
    {
      type: 11
      name: 'pages'
      content: {
        version: 'LinkItem/1.0'
        style: 'tabs'
        links: [
          {
            id: 'tab-resets'
            cellValue: 'page'
            linkTarget: 'parameter'
            linkLabel: 'Resets'
            subTarget: 'resets'
            style: 'link'
          }
          {
            id: 'tab-latency'
            cellValue: 'page'
            linkTarget: 'parameter'
            linkLabel: 'Latency'
            subTarget: 'latency'
            style: 'link'
          }
          {
            id: 'tab-refusals'
            cellValue: 'page'
            linkTarget: 'parameter'
            linkLabel: 'Refusals'
            subTarget: 'refusals'
            style: 'link'
          }
          {
            id: 'tab-credentials'
            cellValue: 'page'
            linkTarget: 'parameter'
            linkLabel: 'Credentials'
            subTarget: 'credentials'
            style: 'link'
          }
          {
            id: 'tab-batches'
            cellValue: 'page'
            linkTarget: 'parameter'
            linkLabel: 'Batches'
            subTarget: 'batches'
            style: 'link'
          }
        ]
      }
    }
    resetsPage
    latencyPage
    refusalsPage
    credentialsPage
    batchesPage
  ]
  fallbackResourceIds: [
    workspaceId
  ]
  '$schema': 'https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/schema/workbook.json'
}

resource workbook 'Microsoft.Insights/workbooks@2023-06-01' = {
  // A workbook's name is a GUID; this one stays the same across provisions.
  name: guid(resourceGroup().id, 'password-reset-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: displayName
    category: 'workbook'
    sourceId: workspaceId
    serializedData: string(workbookContent)
  }
}

output id string = workbook.id
