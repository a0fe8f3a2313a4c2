#!/bin/sh
# shebao-desk as installed by the Debian package: the program's own Python environment under
# /opt/shebao-desk, the county-editable data files under /etc/shebao-desk (kept on upgrade).
# Each user's store, keys and logs stay in their own data folder (see `shebao-desk --version`).
SHEBAO_RESOURCES=${SHEBAO_RESOURCES:-/etc/shebao-desk}
export SHEBAO_RESOURCES
exec /opt/shebao-desk/venv/bin/shebao-desk "$@"
