# The Windows build, run by a maintainer on a Windows 10/11 x64 machine (PowerShell, from the
# project folder):   powershell -ExecutionPolicy Bypass -File packaging\windows\build.ps1
# Needs: Python 3.11 x64 from python.org (the `py` launcher), Inno Setup 6 (iscc.exe) with its
# Simplified Chinese messages (Languages\ChineseSimplified.isl).
# Makes: dist\shebao-desk\ (one folder: shebao-desk.exe, shebao-desk-cli.exe) and
#        dist\shebao-desk-VERSION-setup.exe (Start-menu entry 社会保障卡综合服务窗口工作台).
$ErrorActionPreference = "Stop"
Set-Location (Join-Path $PSScriptRoot "..\..")

$py = "py"
& $py -3.11 -m venv .venv-win
$vpy = ".venv-win\Scripts\python.exe"
& $vpy -m pip install --upgrade pip
# The locked versions, hash-checked (requirements/*.txt, one lock for every platform; ./shebao lock
# refreshes it on Linux), then the project itself. pyscard ships Windows wheels: no compiler needed.
& $vpy -m pip install --require-hashes -r requirements\build.txt -r requirements\test.txt
if ($LASTEXITCODE -ne 0) { throw "pip install from the lock failed" }
& $vpy -m pip install --no-deps -e .

# The same checks a Linux build passes, where Windows allows them (no pcscd/PostgreSQL here).
$env:QT_QPA_PLATFORM = "offscreen"
& $vpy -m pytest -p no:cacheprovider -q -m "not pcsc and not postgres" tests
if ($LASTEXITCODE -ne 0) { throw "tests failed" }
Remove-Item Env:QT_QPA_PLATFORM

& $vpy -m PyInstaller --noconfirm --clean --distpath dist --workpath build\pyinstaller packaging\pyinstaller\shebao-desk.spec
if ($LASTEXITCODE -ne 0) { throw "PyInstaller failed" }

# The frozen program on its own: version, documents with Windows' SimSun, a store.
$cli = "dist\shebao-desk\shebao-desk-cli.exe"
& $cli --version
& $cli documents sample --out build\docs-sample
& $cli --db build\check.sqlite3 demo seed 5
& $cli --db build\check.sqlite3 db check
if ($LASTEXITCODE -ne 0) { throw "frozen program check failed" }
# With a PC/SC reader and a card inserted:  & $cli card read

$version = (& $vpy -c "import shebao_desk; print(shebao_desk.__version__)").Trim()
$iscc = "${env:ProgramFiles(x86)}\Inno Setup 6\ISCC.exe"
$chinese = Join-Path (Split-Path $iscc) "Languages\ChineseSimplified.isl"
if (-not (Test-Path $chinese)) {
  throw "Inno Setup has no $chinese : newer versions ship it; else copy it from https://jrsoftware.org/files/istrans/"
}
& $iscc "/DAppVersion=$version" packaging\windows\shebao-desk.iss
if ($LASTEXITCODE -ne 0) { throw "Inno Setup failed" }
Get-Item "dist\shebao-desk-$version-setup.exe"
