#
# JIM PowerShell module: talks to a JIM server over its REST API.
#
# The health endpoints under /api/v1/health answer anyone; every other endpoint needs an API key,
# sent in the X-API-Key header. Errors come back as JSON with `code` and `message`.
#
# Works on Windows PowerShell 5.1 and PowerShell 7, so it avoids operators and parameters that
# only PowerShell 7 has (??, ?:, -SkipHttpErrorCheck, -StatusCodeVariable).
#

Set-StrictMode -Version Latest

# The current connection, set by Connect-JIM. The API key is kept apart so that the connection
# object, which Connect-JIM returns and users print, never shows it.
$script:JIMConnection = $null
$script:JIMApiKey = $null

$script:JIMUserAgent = 'JIM-PowerShell/{0}' -f $ExecutionContext.SessionState.Module.Version
$script:JIMDefaultTimeoutSeconds = 30

# Windows PowerShell 5.1 runs on .NET Framework, which may offer only old TLS versions by default.
# Allow TLS 1.2 as well, without taking away anything the session already allows.
if ($PSVersionTable.PSEdition -ne 'Core') {
    [Net.ServicePointManager]::SecurityProtocol =
        [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12
}

#region Private helpers

# Returns the value of a property, or $null when the object has no such property. Strict mode
# makes reading a missing property an error, and server answers may leave fields out.
function Get-JIMPropertyValue {
    param(
        [AllowNull()] [object] $InputObject,
        [Parameter(Mandatory)] [string] $Name
    )

    if ($null -eq $InputObject) { return $null }
    $property = $InputObject.PSObject.Properties[$Name]
    if ($null -eq $property) { return $null }
    return $property.Value
}

# Checks a server address and returns it without a trailing slash, so that paths can be appended.
function ConvertTo-JIMBaseUrl {
    param([Parameter(Mandatory)] [string] $Url)

    $trimmed = $Url.Trim().TrimEnd('/')
    $parsed = $null
    if ($trimmed -notmatch '^https?://' -or
        -not [Uri]::TryCreate($trimmed, [UriKind]::Absolute, [ref] $parsed)) {
        throw "``$Url`` is not a JIM address. Give the address you open in a browser, for example https://jim.example.org or http://localhost:5200."
    }
    return $trimmed
}

# Returns the address to use: the one given, else the current connection's, else an error.
function Resolve-JIMBaseUrl {
    param([string] $Url)

    if ($Url) { return ConvertTo-JIMBaseUrl -Url $Url }
    if ($null -ne $script:JIMConnection) { return $script:JIMConnection.Url }
    throw 'Not connected to JIM. Run Connect-JIM -Url <address> first, or pass -Url.'
}

# Sends one request and returns StatusCode and Body (parsed JSON when the answer is JSON).
# An HTTP error status is returned, not thrown, because some are answers in their own right
# (503 from /api/v1/health/ready means "not ready yet"). Only a failure to get any answer
# (name resolution, refused connection, TLS, time-out) is thrown.
function Invoke-JIMRequest {
    param(
        [Parameter(Mandatory)] [string] $BaseUrl,
        [Parameter(Mandatory)] [string] $Path,
        [string] $Method = 'Get',
        [AllowNull()] [string] $ApiKey,
        [int] $TimeoutSeconds = $script:JIMDefaultTimeoutSeconds
    )

    $headers = @{}
    if ($ApiKey) { $headers['X-API-Key'] = $ApiKey }
    $uri = $BaseUrl + $Path

    $request = @{
        Uri             = $uri
        Method          = $Method
        Headers         = $headers
        UserAgent       = $script:JIMUserAgent
        TimeoutSec      = $TimeoutSeconds
        UseBasicParsing = $true
        ErrorAction     = 'Stop'
    }

    try {
        $body = Invoke-RestMethod @request
        return [pscustomobject]@{ Uri = $uri; Method = $Method.ToUpperInvariant(); StatusCode = 200; Body = $body }
    }
    catch {
        # PowerShell 7 raises HttpResponseException and Windows PowerShell raises WebException;
        # both carry the response, with its status code, when the server answered at all.
        $response = Get-JIMPropertyValue -InputObject $_.Exception -Name 'Response'
        if ($null -eq $response) {
            throw "Could not reach JIM at ``$uri``: $($_.Exception.Message) Check the address, that the server is running, and that this machine trusts its TLS certificate."
        }

        $statusCode = [int] $response.StatusCode
        $text = $null
        if ($null -ne $_.ErrorDetails) { $text = $_.ErrorDetails.Message }
        $body = $text
        if ($text) {
            try { $body = $text | ConvertFrom-Json -ErrorAction Stop } catch { $body = $text }
        }
        return [pscustomobject]@{ Uri = $uri; Method = $Method.ToUpperInvariant(); StatusCode = $statusCode; Body = $body }
    }
}

# Builds the error for an answer that the caller did not expect, with the server's own message
# and a hint for the statuses a user can act on.
function New-JIMResponseError {
    param([Parameter(Mandatory)] [object] $Result)

    $code = Get-JIMPropertyValue -InputObject $Result.Body -Name 'code'
    $serverMessage = Get-JIMPropertyValue -InputObject $Result.Body -Name 'message'
    if (-not $serverMessage -and $Result.Body -is [string]) { $serverMessage = $Result.Body }

    $message = 'JIM answered {0} to {1} {2}' -f $Result.StatusCode, $Result.Method, $Result.Uri
    if ($code) { $message += " ($code)" }
    if ($serverMessage) { $message += ": $serverMessage" }

    $category = [Management.Automation.ErrorCategory]::InvalidResult
    switch ($Result.StatusCode) {
        401 {
            $message += ' Hint: this needs an API key; run Connect-JIM -Url <address> -ApiKey <key>.'
            $category = [Management.Automation.ErrorCategory]::AuthenticationError
        }
        403 {
            $message += ' Hint: the API key does not have the role this needs.'
            $category = [Management.Automation.ErrorCategory]::PermissionDenied
        }
        404 {
            $message += ' Hint: check the address; the server may also be older than this module.'
            $category = [Management.Automation.ErrorCategory]::ObjectNotFound
        }
        429 {
            $message += ' Hint: too many requests; wait a moment and try again.'
            $category = [Management.Automation.ErrorCategory]::LimitsExceeded
        }
        503 {
            $message += ' Hint: JIM is starting or upgrading its database; try again shortly.'
            $category = [Management.Automation.ErrorCategory]::ResourceUnavailable
        }
    }

    $exception = New-Object -TypeName System.Exception -ArgumentList $message
    $errorId = 'JIM.Http{0}' -f $Result.StatusCode
    return New-Object -TypeName Management.Automation.ErrorRecord -ArgumentList $exception, $errorId, $category, $Result.Uri
}

# Builds an error record from a plain message, for failures that are not HTTP answers.
function New-JIMError {
    param(
        [Parameter(Mandatory)] [string] $Message,
        [Parameter(Mandatory)] [string] $ErrorId,
        [Management.Automation.ErrorCategory] $Category = [Management.Automation.ErrorCategory]::InvalidOperation,
        [object] $TargetObject
    )

    $exception = New-Object -TypeName System.Exception -ArgumentList $Message
    return New-Object -TypeName Management.Automation.ErrorRecord -ArgumentList $exception, $ErrorId, $Category, $TargetObject
}

# Sends an authenticated request for a cmdlet and returns the answer's body. Stops the cmdlet
# with a clear error when there is no connection, no API key, no answer, or an error answer.
function Invoke-JIMAuthenticatedRequest {
    param(
        [Parameter(Mandatory)] [Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Path,
        [string] $Method = 'Get'
    )

    $connection = $script:JIMConnection
    if ($null -eq $connection) {
        $Cmdlet.ThrowTerminatingError((New-JIMError -Message 'Not connected to JIM. Run Connect-JIM -Url <address> -ApiKey <key> first.' -ErrorId 'JIM.NotConnected'))
    }
    if (-not $script:JIMApiKey) {
        $Cmdlet.ThrowTerminatingError((New-JIMError -Message ('{0} needs an API key. Run Connect-JIM -Url <address> -ApiKey <key>.' -f $Cmdlet.MyInvocation.MyCommand.Name) -ErrorId 'JIM.ApiKeyRequired' -Category AuthenticationError))
    }

    try {
        $result = Invoke-JIMRequest -BaseUrl $connection.Url -Path $Path -Method $Method -ApiKey $script:JIMApiKey -TimeoutSeconds $connection.TimeoutSeconds
    }
    catch {
        $Cmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.Unreachable' -Category ConnectionError -TargetObject $connection.Url))
    }
    # Invoke-JIMRequest reports every success (200, 201, 202) as 200.
    if ($result.StatusCode -ne 200) {
        $Cmdlet.ThrowTerminatingError((New-JIMResponseError -Result $result))
    }
    return $result.Body
}

# Reads every page of a paged list (pages of 100) and writes the items to the pipeline, stopping
# after $Limit items when $Limit is above 0. $Path may already carry a query string.
function Get-JIMPagedItems {
    param(
        [Parameter(Mandatory)] [Management.Automation.PSCmdlet] $Cmdlet,
        [Parameter(Mandatory)] [string] $Path,
        [int] $Limit = 0
    )

    $separator = '?'
    if ($Path.Contains('?')) { $separator = '&' }
    $page = 1
    $written = 0
    while ($true) {
        $body = Invoke-JIMAuthenticatedRequest -Cmdlet $Cmdlet -Path ('{0}{1}page={2}&pageSize=100' -f $Path, $separator, $page)
        foreach ($item in @(Get-JIMPropertyValue -InputObject $body -Name 'items')) {
            if ($null -eq $item) { continue }
            $item
            $written++
            if ($Limit -gt 0 -and $written -ge $Limit) { return }
        }
        if (-not (Get-JIMPropertyValue -InputObject $body -Name 'hasNextPage')) { return }
        $page++
    }
}

#endregion

#region Connection

function Connect-JIM {
    <#
    .SYNOPSIS
    Connects to a JIM server for the rest of the session.

    .DESCRIPTION
    Checks that the server answers at /api/v1/health, reads its version, and keeps the address
    (and the API key, when given) for the other JIM commands in this session. With an API key it
    also checks that the server accepts the key.

    Without an API key only the anonymous commands work (health and version). Interactive
    sign-in through the identity provider is not available in this version of the module: use
    an API key for everything else.

    .PARAMETER Url
    Address of JIM as you open it in a browser, for example https://jim.example.org or
    http://localhost:5200. A path prefix used by a reverse proxy may be included.

    .PARAMETER ApiKey
    API key to send in the X-API-Key header: `jim_ak_` followed by 64 lowercase hexadecimal
    characters. Create one in JIM under Admin > API Keys, or use the infrastructure key set by
    JIM_INFRASTRUCTURE_API_KEY.

    .PARAMETER TimeoutSeconds
    How long to wait for each answer from the server, in seconds (default 30).

    .EXAMPLE
    Connect-JIM -Url https://jim.example.org -ApiKey $env:JIM_API_KEY

    Connects with an API key taken from an environment variable.

    .EXAMPLE
    Connect-JIM -Url http://localhost:5200

    Connects without a key, for health and version checks.

    .OUTPUTS
    The connection: Url, AuthMethod, ServerVersion, ConnectedAt. The API key is not shown.
    #>
    [CmdletBinding()]
    param(
        [Parameter(Mandatory, Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string] $Url,

        [Parameter(Position = 1)]
        [ValidateNotNullOrEmpty()]
        [string] $ApiKey,

        [ValidateRange(1, 600)]
        [int] $TimeoutSeconds = $script:JIMDefaultTimeoutSeconds
    )

    try {
        $baseUrl = ConvertTo-JIMBaseUrl -Url $Url
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.InvalidUrl' -Category InvalidArgument -TargetObject $Url))
    }
    if ($ApiKey -and -not $ApiKey.StartsWith('jim_ak_')) {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message 'The API key does not start with `jim_ak_`. Hint: copy the whole key, as JIM showed it when it was created.' -ErrorId 'JIM.InvalidApiKey' -Category InvalidArgument))
    }

    # The server must answer the anonymous liveness check before anything else is tried.
    try {
        $health = Invoke-JIMRequest -BaseUrl $baseUrl -Path '/api/v1/health' -TimeoutSeconds $TimeoutSeconds
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.Unreachable' -Category ConnectionError -TargetObject $baseUrl))
    }
    if ($health.StatusCode -ne 200) {
        $PSCmdlet.ThrowTerminatingError((New-JIMResponseError -Result $health))
    }

    # The version is for display only; an older server without the endpoint is still usable.
    $serverVersion = $null
    $version = Invoke-JIMRequest -BaseUrl $baseUrl -Path '/api/v1/health/version' -TimeoutSeconds $TimeoutSeconds
    if ($version.StatusCode -eq 200) {
        $serverVersion = Get-JIMPropertyValue -InputObject $version.Body -Name 'version'
    }
    else {
        Write-Verbose ('Could not read the server version: HTTP {0}.' -f $version.StatusCode)
    }

    # Check the key now, so that a wrong key fails here and not in the middle of a script.
    if ($ApiKey) {
        $check = Invoke-JIMRequest -BaseUrl $baseUrl -Path '/api/v1/system/health' -ApiKey $ApiKey -TimeoutSeconds $TimeoutSeconds
        if ($check.StatusCode -eq 401) {
            $PSCmdlet.ThrowTerminatingError((New-JIMError -Message "JIM at ``$baseUrl`` refused the API key. Hint: check that the key is complete, has not expired and has not been revoked." -ErrorId 'JIM.ApiKeyRefused' -Category AuthenticationError -TargetObject $baseUrl))
        }
        if ($check.StatusCode -eq 403) {
            Write-Warning 'JIM accepted the API key, but the key does not have the Administrator role; some commands will be refused.'
        }
        elseif ($check.StatusCode -ne 200) {
            Write-Verbose ('Could not check the API key: HTTP {0}.' -f $check.StatusCode)
        }
    }

    $authMethod = 'None'
    if ($ApiKey) { $authMethod = 'ApiKey' }
    $script:JIMApiKey = $ApiKey
    $script:JIMConnection = [pscustomobject]@{
        PSTypeName     = 'JIM.Connection'
        Url            = $baseUrl
        AuthMethod     = $authMethod
        ServerVersion  = $serverVersion
        ConnectedAt    = Get-Date
        TimeoutSeconds = $TimeoutSeconds
    }
    return $script:JIMConnection
}

function Disconnect-JIM {
    <#
    .SYNOPSIS
    Forgets the current JIM connection and its API key.

    .DESCRIPTION
    Clears what Connect-JIM kept for this session. Nothing is sent to the server. Running it
    when not connected does nothing.

    .EXAMPLE
    Disconnect-JIM
    #>
    [CmdletBinding()]
    param()

    if ($null -eq $script:JIMConnection) {
        Write-Verbose 'Not connected to JIM; nothing to forget.'
    }
    $script:JIMConnection = $null
    $script:JIMApiKey = $null
}

function Test-JIMConnection {
    <#
    .SYNOPSIS
    Tells whether the current JIM connection works.

    .DESCRIPTION
    Asks the connected server for /api/v1/health and reports the result. It does not fail when
    the server cannot be reached: the result says so instead.

    .PARAMETER Quiet
    Return only $true or $false.

    .EXAMPLE
    Test-JIMConnection

    .EXAMPLE
    if (-not (Test-JIMConnection -Quiet)) { Connect-JIM -Url https://jim.example.org -ApiKey $key }

    .OUTPUTS
    Connected, Url, AuthMethod, ServerVersion, Status and Message; or a boolean with -Quiet.
    #>
    [CmdletBinding()]
    [OutputType([bool], [pscustomobject])]
    param(
        [switch] $Quiet
    )

    $connection = $script:JIMConnection
    if ($null -eq $connection) {
        if ($Quiet) { return $false }
        return [pscustomobject]@{
            PSTypeName    = 'JIM.ConnectionTest'
            Connected     = $false
            Url           = $null
            AuthMethod    = $null
            ServerVersion = $null
            Status        = $null
            Message       = 'Not connected. Run Connect-JIM -Url <address> first.'
        }
    }

    $connected = $false
    $status = $null
    try {
        $result = Invoke-JIMRequest -BaseUrl $connection.Url -Path '/api/v1/health' -TimeoutSeconds $connection.TimeoutSeconds
        $status = Get-JIMPropertyValue -InputObject $result.Body -Name 'status'
        $connected = $result.StatusCode -eq 200
        if ($connected) {
            $message = 'JIM is answering.'
        }
        else {
            $message = 'JIM answered {0} to GET /api/v1/health.' -f $result.StatusCode
        }
    }
    catch {
        $message = $_.Exception.Message
    }

    if ($Quiet) { return $connected }
    return [pscustomobject]@{
        PSTypeName    = 'JIM.ConnectionTest'
        Connected     = $connected
        Url           = $connection.Url
        AuthMethod    = $connection.AuthMethod
        ServerVersion = $connection.ServerVersion
        Status        = $status
        Message       = $message
    }
}

#endregion

#region Health and version

function Get-JIMHealth {
    <#
    .SYNOPSIS
    Reads JIM's health or readiness.

    .DESCRIPTION
    Without -Ready, asks /api/v1/health whether the web service is running. With -Ready, asks
    /api/v1/health/ready whether JIM can serve requests: it answers "not ready" (HTTP 503) until
    the worker has brought the database up to date, for example during an upgrade. A not-ready
    answer is returned as a result, not raised as an error.

    Needs no API key. Uses the current connection's address unless -Url is given.

    .PARAMETER Url
    Address of JIM, for use without Connect-JIM.

    .PARAMETER Ready
    Ask for readiness instead of liveness.

    .EXAMPLE
    Get-JIMHealth -Url http://localhost:5200

    .EXAMPLE
    Get-JIMHealth -Ready

    After an upgrade: Ready is $true once the database is migrated.

    .OUTPUTS
    Url, Endpoint, StatusCode, Status, Ready, Reason, Error and Timestamp.
    #>
    [CmdletBinding()]
    param(
        [string] $Url,
        [switch] $Ready
    )

    try {
        $baseUrl = Resolve-JIMBaseUrl -Url $Url
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.NoAddress' -Category InvalidArgument -TargetObject $Url))
    }
    $path = '/api/v1/health'
    if ($Ready) { $path = '/api/v1/health/ready' }
    $timeoutSeconds = $script:JIMDefaultTimeoutSeconds
    if ($null -ne $script:JIMConnection) { $timeoutSeconds = $script:JIMConnection.TimeoutSeconds }

    try {
        $result = Invoke-JIMRequest -BaseUrl $baseUrl -Path $path -TimeoutSeconds $timeoutSeconds
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.Unreachable' -Category ConnectionError -TargetObject $baseUrl))
    }

    # 503 with a JSON body is the not-ready answer; anything else unexpected is an error.
    $isAnswer = $result.StatusCode -eq 200 -or
        ($Ready -and $result.StatusCode -eq 503 -and $null -ne (Get-JIMPropertyValue -InputObject $result.Body -Name 'status'))
    if (-not $isAnswer) {
        $PSCmdlet.ThrowTerminatingError((New-JIMResponseError -Result $result))
    }

    return [pscustomobject]@{
        PSTypeName = 'JIM.Health'
        Url        = $baseUrl
        Endpoint   = $path
        StatusCode = $result.StatusCode
        Status     = Get-JIMPropertyValue -InputObject $result.Body -Name 'status'
        Ready      = $result.StatusCode -eq 200
        Reason     = Get-JIMPropertyValue -InputObject $result.Body -Name 'reason'
        Error      = Get-JIMPropertyValue -InputObject $result.Body -Name 'error'
        Timestamp  = Get-JIMPropertyValue -InputObject $result.Body -Name 'timestamp'
    }
}

function Get-JIMVersion {
    <#
    .SYNOPSIS
    Reads the product name and version of a JIM server.

    .DESCRIPTION
    Asks /api/v1/health/version. Needs no API key. Uses the current connection's address unless
    -Url is given.

    .PARAMETER Url
    Address of JIM, for use without Connect-JIM.

    .EXAMPLE
    Get-JIMVersion -Url https://jim.example.org

    .OUTPUTS
    Url, Product and Version.
    #>
    [CmdletBinding()]
    param(
        [string] $Url
    )

    try {
        $baseUrl = Resolve-JIMBaseUrl -Url $Url
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.NoAddress' -Category InvalidArgument -TargetObject $Url))
    }
    $timeoutSeconds = $script:JIMDefaultTimeoutSeconds
    if ($null -ne $script:JIMConnection) { $timeoutSeconds = $script:JIMConnection.TimeoutSeconds }

    try {
        $result = Invoke-JIMRequest -BaseUrl $baseUrl -Path '/api/v1/health/version' -TimeoutSeconds $timeoutSeconds
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.Unreachable' -Category ConnectionError -TargetObject $baseUrl))
    }
    if ($result.StatusCode -ne 200) {
        $PSCmdlet.ThrowTerminatingError((New-JIMResponseError -Result $result))
    }

    return [pscustomobject]@{
        PSTypeName = 'JIM.Version'
        Url        = $baseUrl
        Product    = Get-JIMPropertyValue -InputObject $result.Body -Name 'product'
        Version    = Get-JIMPropertyValue -InputObject $result.Body -Name 'version'
    }
}

function Get-JIMServiceHealth {
    <#
    .SYNOPSIS
    Reads the state of every JIM service: web, worker and scheduler.

    .DESCRIPTION
    Asks /api/v1/system/health, which reports each service from the heartbeats it records in
    the database. Needs a connection made with an API key (Connect-JIM -ApiKey).

    .EXAMPLE
    Connect-JIM -Url https://jim.example.org -ApiKey $key
    Get-JIMServiceHealth

    .OUTPUTS
    The server's report, as returned by /api/v1/system/health.
    #>
    [CmdletBinding()]
    param()

    $connection = $script:JIMConnection
    if ($null -eq $connection) {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message 'Not connected to JIM. Run Connect-JIM -Url <address> -ApiKey <key> first.' -ErrorId 'JIM.NotConnected'))
    }
    if (-not $script:JIMApiKey) {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message 'Get-JIMServiceHealth needs an API key. Run Connect-JIM -Url <address> -ApiKey <key>.' -ErrorId 'JIM.ApiKeyRequired' -Category AuthenticationError))
    }

    try {
        $result = Invoke-JIMRequest -BaseUrl $connection.Url -Path '/api/v1/system/health' -ApiKey $script:JIMApiKey -TimeoutSeconds $connection.TimeoutSeconds
    }
    catch {
        $PSCmdlet.ThrowTerminatingError((New-JIMError -Message $_.Exception.Message -ErrorId 'JIM.Unreachable' -Category ConnectionError -TargetObject $connection.Url))
    }
    if ($result.StatusCode -ne 200) {
        $PSCmdlet.ThrowTerminatingError((New-JIMResponseError -Result $result))
    }
    return $result.Body
}

#endregion

#region Identity data

function Get-JIMConnectedSystem {
    <#
    .SYNOPSIS
    Reads connected systems.

    .DESCRIPTION
    Without -Id, lists every connected system (all pages of
    /api/v1/synchronisation/connected-systems), optionally only those whose name matches -Name.
    With -Id, reads one connected system with its schema (the attributes of its last schema
    import). Needs a connection made with an API key; a Reader key is enough.

    .PARAMETER Id
    The connected system's id.

    .PARAMETER Name
    Only systems whose name matches; wildcards such as * are allowed.

    .EXAMPLE
    Get-JIMConnectedSystem

    .EXAMPLE
    Get-JIMConnectedSystem -Name 'HR*'

    .EXAMPLE
    Get-JIMConnectedSystem -Id 0b6e4d1c-7f0a-4a55-9d59-2f1f3f0c9a11 | Select-Object -ExpandProperty attributes

    .OUTPUTS
    The connected systems as the server returns them: id, name, filePath, keyAttribute and more.
    #>
    [CmdletBinding(DefaultParameterSetName = 'List')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'One', Position = 0, ValueFromPipelineByPropertyName)]
        [guid] $Id,

        [Parameter(ParameterSetName = 'List', Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string] $Name
    )

    process {
        if ($PSCmdlet.ParameterSetName -eq 'One') {
            return Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path "/api/v1/synchronisation/connected-systems/$Id"
        }
        foreach ($system in (Get-JIMPagedItems -Cmdlet $PSCmdlet -Path '/api/v1/synchronisation/connected-systems')) {
            if (-not $Name -or $system.name -like $Name) { $system }
        }
    }
}

function Start-JIMRunProfile {
    <#
    .SYNOPSIS
    Runs a run profile of a connected system.

    .DESCRIPTION
    Queues the run with POST .../run-profiles/{id}/execute and returns the activity and worker
    task that carry it out. With -Wait, follows the activity's progress until it finishes and
    returns the finished activity. Needs an API key with the Administrator role.

    .PARAMETER ConnectedSystemId
    The connected system the run profile belongs to.

    .PARAMETER RunProfileId
    The run profile's id. Run profile objects from the API can be piped in.

    .PARAMETER Name
    The run profile's name, instead of its id.

    .PARAMETER Wait
    Wait until the run has finished.

    .PARAMETER TimeoutSeconds
    With -Wait: how long to wait at most, in seconds (default 3600).

    .EXAMPLE
    Start-JIMRunProfile -ConnectedSystemId $system.id -Name 'Full import' -Wait

    .OUTPUTS
    ActivityId, TaskId and Message; with -Wait, the finished activity.
    #>
    [CmdletBinding(SupportsShouldProcess, DefaultParameterSetName = 'ById')]
    param(
        [Parameter(Mandatory, ValueFromPipelineByPropertyName)]
        [guid] $ConnectedSystemId,

        [Parameter(Mandatory, ParameterSetName = 'ById', ValueFromPipelineByPropertyName)]
        [Alias('Id')]
        [guid] $RunProfileId,

        [Parameter(Mandatory, ParameterSetName = 'ByName')]
        [ValidateNotNullOrEmpty()]
        [string] $Name,

        [switch] $Wait,

        [ValidateRange(1, 86400)]
        [int] $TimeoutSeconds = 3600
    )

    process {
        $profilesPath = "/api/v1/synchronisation/connected-systems/$ConnectedSystemId/run-profiles"
        if ($PSCmdlet.ParameterSetName -eq 'ByName') {
            $profiles = @(Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path $profilesPath)
            $found = @($profiles | Where-Object { $null -ne $_ -and $_.name -eq $Name })
            if ($found.Count -eq 0) {
                $PSCmdlet.ThrowTerminatingError((New-JIMError -Message "The connected system has no run profile named ``$Name``. Hint: list them with GET $profilesPath." -ErrorId 'JIM.RunProfileNotFound' -Category ObjectNotFound -TargetObject $Name))
            }
            $RunProfileId = [guid] $found[0].id
        }

        if (-not $PSCmdlet.ShouldProcess("run profile $RunProfileId", 'Start')) { return }
        $queued = Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Method 'Post' -Path "$profilesPath/$RunProfileId/execute"
        $activityId = Get-JIMPropertyValue -InputObject $queued -Name 'activityId'
        if (-not $Wait) {
            return [pscustomobject]@{
                PSTypeName = 'JIM.QueuedRun'
                ActivityId = $activityId
                TaskId     = Get-JIMPropertyValue -InputObject $queued -Name 'taskId'
                Message    = Get-JIMPropertyValue -InputObject $queued -Name 'message'
            }
        }

        $deadline = (Get-Date).AddSeconds($TimeoutSeconds)
        while ($true) {
            $progress = Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path "/api/v1/activities/$activityId/progress"
            if ($progress.isFinished) { break }
            Write-Progress -Activity "Run profile $RunProfileId" -Status ('{0}: {1} objects processed' -f $progress.phase, $progress.objectsProcessed)
            if ((Get-Date) -gt $deadline) {
                $PSCmdlet.ThrowTerminatingError((New-JIMError -Message "The run (activity $activityId) did not finish within $TimeoutSeconds seconds; it goes on in JIM. Hint: follow it with Get-JIMActivity -Id $activityId." -ErrorId 'JIM.Timeout' -Category OperationTimeout -TargetObject $activityId))
            }
            Start-Sleep -Seconds 2
        }
        Write-Progress -Activity "Run profile $RunProfileId" -Completed
        return Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path "/api/v1/activities/$activityId"
    }
}

function Get-JIMActivity {
    <#
    .SYNOPSIS
    Reads activities: the record and progress of each run.

    .DESCRIPTION
    Without -Id, lists activities newest first (at most -First of them), optionally of one
    connected system or with one status. With -Id, reads one activity; add -Progress for its
    progress only, or -Items for the warnings and errors it reported. Needs a connection made
    with an API key; a Reader key is enough.

    .PARAMETER Id
    The activity's id, as Start-JIMRunProfile returns it.

    .PARAMETER Progress
    With -Id: return the progress (status, phase, objects processed, percent complete).

    .PARAMETER Items
    With -Id: return the rows and objects the run reported on.

    .PARAMETER ConnectedSystemId
    Only activities of this connected system.

    .PARAMETER Status
    Only activities with this status.

    .PARAMETER First
    How many activities to return at most (default 100).

    .EXAMPLE
    Get-JIMActivity -Status FailedWithError -First 10

    .EXAMPLE
    Get-JIMActivity -Id $run.ActivityId -Progress

    .OUTPUTS
    Activities, progress or items as the server returns them.
    #>
    [CmdletBinding(DefaultParameterSetName = 'List')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'One', Position = 0, ValueFromPipelineByPropertyName)]
        [Alias('ActivityId')]
        [guid] $Id,

        [Parameter(ParameterSetName = 'One')]
        [switch] $Progress,

        [Parameter(ParameterSetName = 'One')]
        [switch] $Items,

        [Parameter(ParameterSetName = 'List')]
        [guid] $ConnectedSystemId,

        [Parameter(ParameterSetName = 'List')]
        [ValidateSet('InProgress', 'Complete', 'CompleteWithWarning', 'CompleteWithError', 'FailedWithError', 'Cancelled')]
        [string] $Status,

        [Parameter(ParameterSetName = 'List')]
        [ValidateRange(1, 100000)]
        [int] $First = 100
    )

    process {
        if ($PSCmdlet.ParameterSetName -eq 'One') {
            if ($Progress -and $Items) {
                $PSCmdlet.ThrowTerminatingError((New-JIMError -Message 'Use -Progress or -Items, not both.' -ErrorId 'JIM.InvalidArguments' -Category InvalidArgument))
            }
            if ($Progress) {
                return Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path "/api/v1/activities/$Id/progress"
            }
            if ($Items) {
                return Get-JIMPagedItems -Cmdlet $PSCmdlet -Path "/api/v1/activities/$Id/items"
            }
            return Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path "/api/v1/activities/$Id"
        }

        $filters = @()
        if ($PSBoundParameters.ContainsKey('ConnectedSystemId')) { $filters += "connectedSystemId=$ConnectedSystemId" }
        if ($Status) { $filters += "status=$Status" }
        $path = '/api/v1/activities'
        if ($filters.Count -gt 0) { $path += '?' + ($filters -join '&') }
        Get-JIMPagedItems -Cmdlet $PSCmdlet -Path $path -Limit $First
    }
}

function Get-JIMSchedule {
    <#
    .SYNOPSIS
    Reads schedules, or the runs of one schedule.

    .DESCRIPTION
    Without -Id, lists every schedule, optionally only those whose name matches -Name. With -Id,
    reads one schedule; add -Executions for its runs, newest first. Needs a connection made
    with an API key; a Reader key is enough.

    .PARAMETER Id
    The schedule's id.

    .PARAMETER Name
    Only schedules whose name matches; wildcards such as * are allowed.

    .PARAMETER Executions
    With -Id: return the schedule's runs instead of the schedule.

    .EXAMPLE
    Get-JIMSchedule -Name 'Nightly*'

    .EXAMPLE
    Get-JIMSchedule -Id $schedule.id -Executions | Select-Object -First 5

    .OUTPUTS
    Schedules (id, name, triggerKind, cronExpression or intervalSeconds, enabled, nextRunAt) or
    their executions.
    #>
    [CmdletBinding(DefaultParameterSetName = 'List')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'One', Position = 0, ValueFromPipelineByPropertyName)]
        [guid] $Id,

        [Parameter(ParameterSetName = 'One')]
        [switch] $Executions,

        [Parameter(ParameterSetName = 'List', Position = 0)]
        [ValidateNotNullOrEmpty()]
        [string] $Name
    )

    process {
        if ($PSCmdlet.ParameterSetName -eq 'One') {
            if ($Executions) {
                return Get-JIMPagedItems -Cmdlet $PSCmdlet -Path "/api/v1/schedules/$Id/executions"
            }
            return Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Path "/api/v1/schedules/$Id"
        }
        foreach ($schedule in (Get-JIMPagedItems -Cmdlet $PSCmdlet -Path '/api/v1/schedules')) {
            if (-not $Name -or $schedule.name -like $Name) { $schedule }
        }
    }
}

function Start-JIMSchedule {
    <#
    .SYNOPSIS
    Runs a schedule now.

    .DESCRIPTION
    Runs the schedule at once with POST /api/v1/schedules/{id}/run, whether it is enabled or
    not, and returns the run: its execution, worker task and, for a schedule that runs a run
    profile, the activity to follow with Get-JIMActivity. Needs an API key with the
    Administrator role.

    .PARAMETER Id
    The schedule's id. Schedule objects from Get-JIMSchedule can be piped in.

    .EXAMPLE
    Get-JIMSchedule -Name 'Nightly import' | Start-JIMSchedule

    .OUTPUTS
    ExecutionId, TaskId and ActivityId.
    #>
    [CmdletBinding(SupportsShouldProcess)]
    param(
        [Parameter(Mandatory, Position = 0, ValueFromPipelineByPropertyName)]
        [guid] $Id
    )

    process {
        if (-not $PSCmdlet.ShouldProcess("schedule $Id", 'Run now')) { return }
        $run = Invoke-JIMAuthenticatedRequest -Cmdlet $PSCmdlet -Method 'Post' -Path "/api/v1/schedules/$Id/run"
        [pscustomobject]@{
            PSTypeName  = 'JIM.ScheduleRun'
            ExecutionId = Get-JIMPropertyValue -InputObject $run -Name 'executionId'
            TaskId      = Get-JIMPropertyValue -InputObject $run -Name 'taskId'
            ActivityId  = Get-JIMPropertyValue -InputObject $run -Name 'activityId'
        }
    }
}

#endregion

Export-ModuleMember -Function @(
    'Connect-JIM'
    'Disconnect-JIM'
    'Test-JIMConnection'
    'Get-JIMHealth'
    'Get-JIMVersion'
    'Get-JIMServiceHealth'
    'Get-JIMConnectedSystem'
    'Start-JIMRunProfile'
    'Get-JIMActivity'
    'Get-JIMSchedule'
    'Start-JIMSchedule'
)
