#!/bin/sh
# tests/integration/qemu-run.sh - runs a cross-built subgate under qemu-user for the integration
# tests (SUBGATE_BIN points here). Env: SUBGATE_QEMU (e.g. "qemu-mipsel-static -cpu 24Kc"),
# SUBGATE_QEMU_BIN (the cross binary, a CONFIG_TEST_HOOKS build). qemu-user cannot install the
# guest's seccomp filter, so the daemon runs unfiltered here on the explicit, logged test
# switch SUBGATE_TEST_NO_SECCOMP=1; tests/seccomp/check.py verifies those filters instead.
SUBGATE_TEST_NO_SECCOMP=1
export SUBGATE_TEST_NO_SECCOMP
# shellcheck disable=SC2086 # SUBGATE_QEMU is a command with its options
exec $SUBGATE_QEMU "$SUBGATE_QEMU_BIN" "$@"
