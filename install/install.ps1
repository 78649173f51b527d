# Install xlclv for Excel on Windows.
#
#   1. finds Python 3.11 or newer (the "py" launcher, or python on the PATH),
#   2. makes a private Python environment in %USERPROFILE%\.xlclv\venv (reused when it is there),
#   3. installs xlclv into it with pip,
#   4. runs `xlclv install`: xlwings config and add-in, the xlclv ribbon add-in, the templates
#      in Documents\xlclv.
#
# Usage (close Excel first), in PowerShell:
#   powershell -ExecutionPolicy Bypass -File install.ps1 [--dry-run | --status | --force]
# Options go to `xlclv install`; with --dry-run, steps 1-3 still run (inside .xlclv only) and
# step 4 only prints what it would do.
#
# Settings (environment variables), all optional:
#   XLCLV_PYTHON        the Python to use (default: py -3, else python)
#   XLCLV_VENV          where the environment goes (default: %USERPROFILE%\.xlclv\venv)
#   XLCLV_SOURCE        what pip installs (default: xlclv from PyPI; a folder or .whl works too)
#   XLCLV_PIP_OPTIONS   extra pip options, e.g. "--no-deps --no-build-isolation --no-index"
#   XLCLV_SKIP_PIP=1    skip step 3 (xlclv is already in the environment)

$ErrorActionPreference = "Stop"

function Say([string]$Text) { Write-Host ""; Write-Host "==> $Text" -ForegroundColor Cyan }
function Fail([string]$Text) {
    Write-Host ""
    Write-Host "xlclv install stopped: $Text" -ForegroundColor Red
    exit 1
}

$Venv = if ($env:XLCLV_VENV) { $env:XLCLV_VENV } else { Join-Path $env:USERPROFILE ".xlclv\venv" }
$Source = if ($env:XLCLV_SOURCE) { $env:XLCLV_SOURCE } else { "xlclv" }
$PipOptions = if ($env:XLCLV_PIP_OPTIONS) { $env:XLCLV_PIP_OPTIONS -split "\s+" } else { @() }

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
& $PyExe @PyArgs -c "import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)"
if ($LASTEXITCODE -ne 0) {
    Fail "xlclv needs Python 3.11 or newer. Install it from https://www.python.org/downloads/windows/ and run this again."
}
& $PyExe @PyArgs --version

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
    Say "3/4 Installing xlclv ($Source) with pip"
    & $VenvPython -m pip install --disable-pip-version-check --upgrade @PipOptions $Source
    if ($LASTEXITCODE -ne 0) { Fail "pip could not install $Source (is the computer online?)" }
}

Say "4/4 Setting Excel up: xlclv install $($args -join ' ')"
& $VenvPython -m xlclv install @args
exit $LASTEXITCODE
