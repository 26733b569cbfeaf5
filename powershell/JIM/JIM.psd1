#
# Module manifest for JIM, the PowerShell module of the JIM identity manager.
#
# The release bundler rewrites the ModuleVersion line below to the release version; keep the
# version on that one line, in single quotes.
#
@{
    RootModule           = 'JIM.psm1'
    ModuleVersion = '0.1.0'
    GUID                 = 'e2a3e4b6-0770-458d-a9c9-072e9f2ed3cb'
    Author               = 'The JIM project'
    CompanyName          = 'The JIM project'
    Copyright            = '(c) The JIM project. All rights reserved.'
    Description          = 'Connects to a JIM server over its REST API: connection, health and version, connected systems, run profiles, activities and schedules, for scripts and automation.'

    # Windows PowerShell 5.1 and PowerShell 7 on Windows, Linux and macOS.
    PowerShellVersion    = '5.1'
    CompatiblePSEditions = @('Desktop', 'Core')

    FunctionsToExport    = @(
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
    CmdletsToExport      = @()
    VariablesToExport    = @()
    AliasesToExport      = @()

    PrivateData          = @{
        PSData = @{
            Tags = @('JIM', 'Identity', 'IdentityManagement', 'Automation', 'Windows', 'Linux', 'MacOS')
        }
    }
}
