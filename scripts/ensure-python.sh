#!/usr/bin/env bash
# Installs the PyPI packages EMP's tests and demo use, when missing: moto's server (the EC2 host provider's tests
# run against it on loopback). Pinned so a fresh machine tests against what the tests were written for.
set -euo pipefail
python="${PYTHON:-python3}"
if "$python" -c "import moto.server, flask_cors" >/dev/null 2>&1; then exit 0; fi
echo "installing moto[server] from PyPI"
"$python" -m pip install --quiet --disable-pip-version-check 'moto[server]==5.2.1' ||
    "$python" -m pip install --quiet --disable-pip-version-check --break-system-packages 'moto[server]==5.2.1'
