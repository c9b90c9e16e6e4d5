# bench/compare.mk - `make bench-compare`: subgate next to Postfix (bench/compare.py, issue #6).
#
# Included from the top Makefile (after bench/bench.mk, which builds $(B)/loadgen).
# Runs as root: subgate jails itself, and a private Postfix instance starts in a temp dir
# under build/bench (the system's /etc/postfix and mail service are never touched).
# Output: build/bench/compare.md (also on stdout), compare.json, compare.png.
# Variables: COMPARE_ARGS (e.g. --rounds 2). Never sets the default goal.

compare_saved_goal := $(.DEFAULT_GOAL)

COMPARE_TOOLS := postfix sasl2-bin libsasl2-modules openssl strace python3-matplotlib e2fsprogs
COMPARE_ARGS ?=
B ?= build
PYTHON ?= /usr/bin/python3

.PHONY: bench-compare
bench-compare: all $(B)/loadgen
	$(Q)scripts/apt-need.sh $(COMPARE_TOOLS)
	$(Q)$(PYTHON) bench/compare.py --binary $(B)/subgate --loadgen $(B)/loadgen --out build/bench $(COMPARE_ARGS)

.DEFAULT_GOAL := $(compare_saved_goal)
