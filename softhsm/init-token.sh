#!/usr/bin/env bash
# Creates a SoftHSM2 token for qsign by hand, for deployments that do not let qsign manage its
# own token (hsm.managed_softhsm = false). `qsign init` then creates the keys in it.
#
#   SOFTHSM2_CONF=/etc/qsign/softhsm2.conf softhsm/init-token.sh qsign
#
# The PINs come from QSIGN_HSM_SO_PIN and QSIGN_HSM_PIN. softhsm2-util takes them as arguments,
# which other local users can see in the process list while it runs: on a shared machine let
# `qsign init` create the token instead (it calls C_InitToken in-process).
set -euo pipefail
label="${1:-qsign}"
: "${QSIGN_HSM_SO_PIN:?set QSIGN_HSM_SO_PIN}"
: "${QSIGN_HSM_PIN:?set QSIGN_HSM_PIN}"
if softhsm2-util --show-slots 2>/dev/null | grep -q "Label:[[:space:]]*${label}[[:space:]]*$"; then
  echo "token ${label}: exists"
  exit 0
fi
softhsm2-util --init-token --free --label "$label" --so-pin "$QSIGN_HSM_SO_PIN" --pin "$QSIGN_HSM_PIN" >/dev/null
echo "token ${label}: created"
