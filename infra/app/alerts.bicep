// Alerts that reach a person: an action group e-mailing ALERT_EMAIL, and one scheduled query
// rule (log search alert) per condition, each on the Log Analytics workspace's AppTraces table.
// Every query is a file in infra/queries (checked by the tests with the Kusto language
// service); a query's parameters go in front of it as `let` statements, built here from the
// same values the rule uses. infra/README.md says what each alert means and what to do.

@description('Azure region of the rules (the action group is global).')
param location string

@description('Tags put on every resource.')
param tags object = {}

@description('Resource ID of the Log Analytics workspace the rules query.')
param workspaceId string

@description('Suffix of every name (the azd resource token).')
param nameSuffix string

@description('The address the alerts are e-mailed to; empty: no action group, and the rules reach nobody.')
param alertEmail string

@description('Successful resets in one hour, across callers, above which "many resets" fires.')
param resetsPerHour int

@description('Refusals (forbidden, protected_user) of one caller in one hour above which "refusals by one caller" fires.')
param refusalsPerCallerPerHour int

@description('Percent of reset attempts answered 5xx in 15 minutes at or above which "server errors" fires.')
param serverErrorPercent int

@description('Attempts in 15 minutes below which the 5xx share is not judged.')
param serverErrorMinimumAttempts int

var actionGroupName = 'ag-pwreset-${nameSuffix}'
// The rules name the action group by ID: the group exists only with an address.
var actionGroups = empty(alertEmail) ? [] : [
  resourceId('Microsoft.Insights/actionGroups', actionGroupName)
]
var ruleNamePrefix = 'alert-pwreset'
// The credentials rule looks at each check's previous run: as far back as a log alert can, which
// the daily checks' previous run is always within (CREDENTIALS_CHECK_SCHEDULE runs every day).
var credentialsLookBack = 'P2D'
// How often the credentials rule runs; its query counts a record once, in the run during which
// it arrived, so the query is told the same period.
var credentialsEvaluationMinutes = 60
var failingPeriods = {
  numberOfEvaluationPeriods: 1
  minFailingPeriodsToAlert: 1
}

resource actionGroup 'Microsoft.Insights/actionGroups@2023-01-01' = if (!empty(alertEmail)) {
  name: actionGroupName
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'pwreset'
    enabled: true
    emailReceivers: [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// A check of the credentials timers (the daily checks, the weekly rotation) turned warning or
// critical. Stateless: its query reports each change once, and a "resolved" mail would wrongly
// read as "the credentials are fine again".
resource credentialsHealth 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}-credentials-${nameSuffix}'
  location: location
  tags: tags
  properties: {
    displayName: 'Password reset: credentials health changed'
    description: 'A credentials check of the daily checks or the weekly rotation turned warning or critical (dimensions check and status). infra/README.md#alerts says what to do.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT${credentialsEvaluationMinutes}M'
    windowSize: 'PT${credentialsEvaluationMinutes}M'
    overrideQueryTimeRange: credentialsLookBack
    autoMitigate: false
    criteria: {
      allOf: [
        {
          query: 'let evaluationPeriod = ${credentialsEvaluationMinutes}m;\n${loadTextContent('../queries/alert-credentials-health.kql')}'
          timeAggregation: 'Count'
          dimensions: [
            {
              name: 'check'
              operator: 'Include'
              values: [
                '*'
              ]
            }
            {
              name: 'status'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: failingPeriods
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// Any answer partner_credentials_invalid: every reset fails until a partner admin consents again.
resource partnerCredentialsInvalid 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}-credentials-invalid-${nameSuffix}'
  location: location
  tags: tags
  properties: {
    displayName: 'Password reset: partner credentials refused'
    description: 'A reset was answered 503 partner_credentials_invalid: the stored refresh token was rejected. infra/README.md#alerts says what to do.'
    severity: 1
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-partner-credentials-invalid.kql')
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: failingPeriods
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// The share of attempts answered 5xx.
resource serverErrors 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}-server-errors-${nameSuffix}'
  location: location
  tags: tags
  properties: {
    displayName: 'Password reset: server errors'
    description: 'At least ${serverErrorPercent}% of the reset attempts in 15 minutes were answered 5xx (once ${serverErrorMinimumAttempts} were made). infra/README.md#alerts says what to do.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: 'let minimumAttempts = ${serverErrorMinimumAttempts};\n${loadTextContent('../queries/alert-server-errors.kql')}'
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'serverErrorPercent'
          operator: 'GreaterThanOrEqual'
          threshold: serverErrorPercent
          failingPeriods: failingPeriods
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// Refusals (forbidden, protected_user) per caller: a caller probing customers or admins.
resource refusalsPerCaller 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}-refusals-${nameSuffix}'
  location: location
  tags: tags
  properties: {
    displayName: 'Password reset: refusals by one caller'
    description: 'One caller was refused (forbidden, protected_user) more than ${refusalsPerCallerPerHour} times in an hour (dimension caller). infra/README.md#alerts says what to do.'
    severity: 2
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-refusals-per-caller.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'refusals'
          dimensions: [
            {
              name: 'caller'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: refusalsPerCallerPerHour
          failingPeriods: failingPeriods
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// Resets per hour: the blast radius of a leaked key.
resource resetsPerHourRule 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}-many-resets-${nameSuffix}'
  location: location
  tags: tags
  properties: {
    displayName: 'Password reset: many resets'
    description: 'More than ${resetsPerHour} passwords were reset in an hour. infra/README.md#alerts says what to do.'
    severity: 1
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-resets-per-hour.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'resets'
          operator: 'GreaterThan'
          threshold: resetsPerHour
          failingPeriods: failingPeriods
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
  dependsOn: [
    actionGroup
  ]
}

// Batches whose users were not all reset; one alert per batch.
resource batchFailures 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${ruleNamePrefix}-batch-failures-${nameSuffix}'
  location: location
  tags: tags
  properties: {
    displayName: 'Password reset: batch with failures'
    description: 'A batch has users whose reset did not succeed (dimension batchId). infra/README.md#alerts says what to do.'
    severity: 3
    enabled: true
    scopes: [
      workspaceId
    ]
    evaluationFrequency: 'PT15M'
    windowSize: 'PT1H'
    autoMitigate: true
    criteria: {
      allOf: [
        {
          query: loadTextContent('../queries/alert-batch-failures.kql')
          timeAggregation: 'Total'
          metricMeasureColumn: 'failed'
          dimensions: [
            {
              name: 'batchId'
              operator: 'Include'
              values: [
                '*'
              ]
            }
          ]
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: failingPeriods
        }
      ]
    }
    actions: {
      actionGroups: actionGroups
    }
  }
  dependsOn: [
    actionGroup
  ]
}
