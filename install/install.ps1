# Install xlclv for Excel on Windows.
#
#   1. finds Python 3.11 or newer (the "py" launcher, or python on the PATH),
#   2. makes a private Python environment in %USERPROFILE%\.xlclv\venv (reused when it is there),
#   3. installs xlclv into it with pip -- from THIS folder: the xlclv wheel next to this script
#      (the unzipped release) or the clone this script sits in -- or from -Source,
#   4. runs `xlclv install`: the xlclv add-in with the cell functions and the ribbon tab, the
#      templates in Documents\xlclv.
#
# Usage (close Excel first), in PowerShell:
#   powershell -ExecutionPolicy Bypass -File install.ps1 [-Source PATH-or-URL] [--dry-run | --status | --force]
# -Source: a wheel, a folder with xlclv's pyproject.toml, or a URL of either. Other options go
# to `xlclv install`; with --dry-run, steps 1-3 still run (inside .xlclv only) and step 4 only
# prints what it would do.
#
# Settings (environment variables), all optional:
#   XLCLV_PYTHON        the Python to use (default: py -3, else python)
#   XLCLV_VENV          where the environment goes (default: %USERPROFILE%\.xlclv\venv)
#   XLCLV_SOURCE        same as -Source
#   XLCLV_PIP_OPTIONS   extra pip options, e.g. "--no-index --find-links C:\wheels"
#   XLCLV_SKIP_PIP=1    skip step 3 (xlclv is already in the environment)
$ErrorActionPreference = "Stop"

function Say([string]$Text) { Write-Host ""; Write-Host "==> $Text" -ForegroundColor Cyan }
function Fail([string]$Text) {
    Write-Host ""
    Write-Host "xlclv install stopped: $Text" -ForegroundColor Red
    exit 1
}

# No param() block: options such as --dry-run must reach `xlclv install` as they are (a param
# block would make PowerShell bind or reject them), so -Source is picked out of $args here.
$Source = ""
$Rest = @()
for ($i = 0; $i -lt $args.Count; $i++) {
    if ($args[$i] -eq "-Source" -or $args[$i] -eq "--source") {
        if ($i + 1 -ge $args.Count) { Fail "-Source needs a path or URL" }
        $Source = [string]$args[$i + 1]
        $i++
    } else {
        $Rest += [string]$args[$i]
    }
}

$Here = Split-Path -Parent $MyInvocation.MyCommand.Path
$Venv = if ($env:XLCLV_VENV) { $env:XLCLV_VENV } else { Join-Path $env:USERPROFILE ".xlclv\venv" }
if (-not $Source -and $env:XLCLV_SOURCE) { $Source = $env:XLCLV_SOURCE }
$PipOptions = if ($env:XLCLV_PIP_OPTIONS) { $env:XLCLV_PIP_OPTIONS -split "\s+" } else { @() }

# What to install: -Source, else the newest xlclv wheel next to this script (the unzipped
# release), else the clone this script sits in (install\ is one level below pyproject.toml).
if (-not $Source -and $env:XLCLV_SKIP_PIP -ne "1") {
    $Wheel = Get-ChildItem -Path $Here -Filter "xlclv-*.whl" -ErrorAction SilentlyContinue |
        Sort-Object { [version](($_.Name -split "-")[1] -replace "[^0-9.].*$", "") } |
        Select-Object -Last 1
    $Project = Join-Path (Split-Path -Parent $Here) "pyproject.toml"
    if ($Wheel) {
        $Source = $Wheel.FullName
    } elseif ((Test-Path $Project) -and (Select-String -Path $Project -Pattern '^name = "xlclv"' -Quiet)) {
        $Source = Split-Path -Parent $Here
    } else {
        Fail "there is no xlclv next to this script ($Here): run the install.ps1 of the unzipped xlclv release or of a clone of the xlclv repository, or give -Source with a wheel, a folder or a URL."
    }
}
if ($Source -and -not ($Source -match "^(https?://|git\+)") -and -not (Test-Path $Source)) {
    Fail "-Source $Source does not exist: give a wheel (.whl), a folder with xlclv's pyproject.toml, or a URL."
}

Say "1/4 Looking for Python 3.11 or newer"
if ($env:XLCLV_PYTHON) {
    $Python = @($env:XLCLV_PYTHON)
} elseif (Get-Command py -ErrorAction SilentlyContinue) {
    $Python = @("py", "-3")
} elseif (Get-Command python -ErrorAction SilentlyContinue) {
    $Python = @("python")
} else {
    Fail "Python was not found. Install Python 3.11 or newer from https://www.python.org/downloads/windows/ (tick 'Add python.exe to PATH'), then run this again."
}
$PyExe = $Python[0]
$PyArgs = @($Python | Select-Object -Skip 1)
$Found = Get-Command $PyExe -ErrorAction SilentlyContinue
if ($Found -and $Found.Source -like "*\Microsoft\WindowsApps\*") {
    Fail "'$PyExe' is the Microsoft Store placeholder ($($Found.Source)), not a Python: it opens the Store instead of running. Install Python from https://www.python.org/downloads/windows/ (tick 'Add python.exe to PATH'), or turn the placeholder off under Settings > Apps > Advanced app settings > App execution aliases, then run this again."
}
& $PyExe @PyArgs -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"
if ($LASTEXITCODE -ne 0) {
    Fail "xlclv needs Python 3.11 or newer. Install it from https://www.python.org/downloads/windows/ and run this again."
}
& $PyExe @PyArgs --version

$Arch = if ($env:PROCESSOR_ARCHITEW6432) { $env:PROCESSOR_ARCHITEW6432 } else { $env:PROCESSOR_ARCHITECTURE }
if ($Arch -eq "ARM64") {
    Write-Host "Note: this is Windows on ARM. xlwings ships its Excel DLL (xlwings64-<version>.dll) for x64 only;" -ForegroundColor Yellow
    Write-Host "the cell functions (=CLV_MODEL...) need it, the ribbon button does not. Step 4 checks for it." -ForegroundColor Yellow
}

Say "2/4 Python environment $Venv"
$VenvPython = Join-Path $Venv "Scripts\python.exe"
if (Test-Path $VenvPython) {
    Write-Host "already there, reused"
} else {
    & $PyExe @PyArgs -m venv $Venv
    if ($LASTEXITCODE -ne 0) { Fail "could not create $Venv" }
    Write-Host "created"
}

if ($env:XLCLV_SKIP_PIP -eq "1") {
    Say "3/4 Installing xlclv: skipped (XLCLV_SKIP_PIP=1)"
} else {
    Say "3/4 Installing xlclv from $Source with pip"
    # Windows PowerShell 5.1 turns a native program's stderr line into a terminating error
    # under "Stop" once it is redirected (2>&1), and pip warns on stderr: relax it for pip.
    $Previous = $ErrorActionPreference
    $ErrorActionPreference = "Continue"
    $PipLog = & $VenvPython -m pip install --disable-pip-version-check --upgrade @PipOptions $Source 2>&1 | ForEach-Object { "$_" }
    $PipExit = $LASTEXITCODE
    $ErrorActionPreference = $Previous
    $PipLog | ForEach-Object { Write-Host $_ }
    if ($PipExit -ne 0) {
        $Text = $PipLog -join "`n"
        if ($Text -match "Failed to establish a new connection|getaddrinfo failed|Temporary failure in name resolution|Name or service not known|Network is unreachable|Max retries exceeded|ConnectTimeout|ReadTimeout|SSLError|ProxyError") {
            Fail "no network: pip could not reach the package index for xlclv's dependencies (numpy, pandas, scipy, xlwings...). Check the internet connection (or the proxy: HTTPS_PROXY), then run this again."
        } elseif ($Text -match "No matching distribution found|Could not find a version that satisfies") {
            $Line = ($PipLog | Select-String -Pattern "No matching distribution|Could not find a version" | Select-Object -Last 1)
            Fail "package not found: $Line. $Source is there, but pip found no matching version of that package for this Python; xlclv needs Python 3.11 or newer on a platform numpy, pandas and scipy publish wheels for."
        } else {
            Fail "pip could not install ${Source}: $(($PipLog | Select-Object -Last 3) -join ' ')"
        }
    }
}

# Documents may be redirected (OneDrive): ask Windows where it is, for the templates.
$env:XLCLV_DOCUMENTS = [Environment]::GetFolderPath("MyDocuments")

Say "4/4 Setting Excel up: xlclv install $($Rest -join ' ')"
& $VenvPython -m xlclv install @Rest
exit $LASTEXITCODE
