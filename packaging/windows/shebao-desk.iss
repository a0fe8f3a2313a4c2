; Inno Setup 6 script: the installer of the one-folder Windows build (dist\shebao-desk\).
; Built by packaging\windows\build.ps1 (iscc /DAppVersion=… shebao-desk.iss); see the README there.
; Per-machine install into Program Files; each user's store, keys and logs stay in
; %LOCALAPPDATA%\shebao-desk, which uninstalling never touches.

#ifndef AppVersion
  #define AppVersion "0.0.0"
#endif
#define AppName "社会保障卡综合服务窗口工作台"
#define SourceDir "..\..\dist\shebao-desk"

[Setup]
AppId={{6F1C2E7A-3B8D-4B9E-9C51-5E0D7A2C4F19}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=shebao-desk
DefaultDirName={autopf}\shebao-desk
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=shebao-desk-{#AppVersion}-setup
SetupIconFile=..\icons\shebao-desk.ico
UninstallDisplayIcon={app}\shebao-desk.exe
Compression=lzma2
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
WizardStyle=modern

[Languages]
Name: "chs"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Files]
Source: "{#SourceDir}\*"; DestDir: "{app}"; Excludes: "_internal\resources\site.toml"; Flags: ignoreversion recursesubdirs createallsubdirs
; The county edits these: an upgrade must not overwrite them.
Source: "{#SourceDir}\_internal\resources\site.toml"; DestDir: "{app}\_internal\resources"; Flags: onlyifdoesntexist uninsneveruninstall

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\shebao-desk.exe"; IconFilename: "{app}\shebao-desk.exe"
Name: "{group}\卸载 {#AppName}"; Filename: "{uninstallexe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\shebao-desk.exe"; Tasks: desktopicon

[Tasks]
Name: "desktopicon"; Description: "在桌面创建快捷方式"; Flags: unchecked

[Run]
Filename: "{app}\shebao-desk.exe"; Description: "启动 {#AppName}"; Flags: nowait postinstall skipifsilent
