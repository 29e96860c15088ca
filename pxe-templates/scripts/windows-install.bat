@echo off
rem WinPE start for {{osName}} on {{hostname}}: fetch the answer file from rackagent and run setup from the share.
wpeinit
curl.exe -fsS -o X:\unattend.xml "{{urls.answerFile}}"
curl.exe -fsS "{{urls.progress}}?step=installer"
net use S: "{{windows.installShare}}"
S:\setup.exe /unattend:X:\unattend.xml
