# bench/bench.mk - builds $(B)/loadgen, the SMTP load generator (bench/loadgen.c), and
# $(B)/cipher-speed (bench/cipher_speed.c, `make bench-ciphers`).
#
# Included from the top Makefile; also usable alone after `make deps`:
#   make -f bench/bench.mk build/loadgen
# A static musl binary that links BearSSL from $(SYSROOT) and borrows four
# gateway files that need no config.h (the TLS pump, PEM reading, base64,
# secret wiping). Build it with the musl flavour only (FLAVOR=asan sets CC=gcc).
# This fragment never sets the default goal of the Makefile that includes it.

bench_saved_goal := $(.DEFAULT_GOAL)

B ?= build
SYSROOT ?= build/sysroot
ifeq ($(origin CC),default)
CC := musl-gcc
endif

LOADGEN_SRCS := bench/loadgen.c gateway/tls_pump.c gateway/tls_pem.c gateway/lib/base64.c gateway/lib/secret.c \
	gateway/lib/fdmap.c gateway/lib/clock.c
LOADGEN_CFLAGS := -static -Os -std=c11 -Wall -Wextra -Werror -Wvla -Wshadow -Wformat=2 -Wmissing-prototypes \
	-D_GNU_SOURCE -isystem $(SYSROOT)/include -I$(B)/include -Igateway -Igateway/lib

$(B)/loadgen: $(LOADGEN_SRCS) gateway/tls_pump.h gateway/tls_pem.h gateway/lib/base64.h gateway/lib/secret.h \
		gateway/lib/fdmap.h gateway/lib/clock.h $(B)/include/config.h bench/bench.mk | $(SYSROOT)/.stamp-bearssl
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(LOADGEN_CFLAGS) -o $@ $(LOADGEN_SRCS) $(SYSROOT)/lib/libbearssl.a -lpthread

# The record ciphers with and without CONFIG_TLS_CPU_CRYPTO's x86 code (bench/cipher_speed.c).
$(B)/cipher-speed: bench/cipher_speed.c bench/bench.mk | $(SYSROOT)/.stamp-bearssl
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) -static -Os -std=c11 -Wall -Wextra -Werror -Wvla -Wshadow -Wmissing-prototypes -D_GNU_SOURCE \
		-isystem $(SYSROOT)/include -o $@ bench/cipher_speed.c $(SYSROOT)/lib/libbearssl.a

.PHONY: loadgen-clean bench-ciphers
bench-ciphers: $(B)/cipher-speed
	$(Q)$(B)/cipher-speed

clean: loadgen-clean
loadgen-clean:
	rm -f $(B)/loadgen $(B)/cipher-speed

.DEFAULT_GOAL := $(bench_saved_goal)
