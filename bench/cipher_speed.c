/*
 * cipher_speed.c - `make bench-ciphers`: what CONFIG_TLS_CPU_CRYPTO buys.
 * Encrypts and authenticates 16 KiB records (a full TLS record) with
 * BearSSL's AES-128-GCM and ChaCha20-Poly1305 in the implementations the
 * gateway can link: the portable constant-time ones it uses with
 * TLS_CPU_CRYPTO=n, and the x86 AES-NI/PCLMUL/SSE2 ones BearSSL picks at
 * run time with =y (skipped when the CPU or the build lacks them). Prints
 * MB/s of process CPU time and the CPU time for a 4 KiB message.
 */
#include <bearssl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define RECORD    16384
#define TOTAL_MIB 64

static unsigned char record[RECORD];

static double cpu_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void report(const char *name, double seconds)
{
	double mb = (double)TOTAL_MIB * 1048576.0 / 1e6;

	printf("| %-44s | %8.1f MB/s | %6.1f µs |\n", name, mb / seconds, seconds / (mb / 0.004096) * 1e6);
}

static void gcm_run(const char *name, const br_block_ctr_class *ctr_class, br_ghash gh)
{
	static br_aes_gen_ctr_keys aes; /* large enough for every AES CTR implementation */
	static const unsigned char key[16], iv[12];
	unsigned char tag[16];
	br_gcm_context gcm;
	double start;

	ctr_class->init(&aes.vtable, key, sizeof(key));
	br_gcm_init(&gcm, &aes.vtable, gh);
	start = cpu_seconds();
	for (unsigned i = 0; i < TOTAL_MIB * 1048576u / RECORD; i++) {
		br_gcm_reset(&gcm, iv, sizeof(iv));
		br_gcm_aad_inject(&gcm, iv, 13);
		br_gcm_flip(&gcm);
		br_gcm_run(&gcm, 1, record, sizeof(record));
		br_gcm_get_tag(&gcm, tag);
	}
	report(name, cpu_seconds() - start);
}

static void chapol_run(const char *name, br_chacha20_run chacha, br_poly1305_run poly)
{
	static const unsigned char key[32], iv[12], aad[13];
	unsigned char tag[16];
	double start = cpu_seconds();

	for (unsigned i = 0; i < TOTAL_MIB * 1048576u / RECORD; i++) {
		poly(key, iv, record, sizeof(record), aad, sizeof(aad), tag, chacha, 1);
	}
	report(name, cpu_seconds() - start);
}

int main(void)
{
	const br_block_ctr_class *ni = br_aes_x86ni_ctr_get_vtable();
	br_ghash pclmul = br_ghash_pclmul_get();
	br_chacha20_run sse2 = br_chacha20_sse2_get();
	br_poly1305_run ctmulq = br_poly1305_ctmulq_get();

	memset(record, 0x5a, sizeof(record));
	printf("| record cipher, %d KiB records, %d MiB | speed (CPU time) | per 4 KiB message |\n|---|---:|---:|\n",
	       RECORD / 1024, TOTAL_MIB);
	gcm_run(UINTPTR_MAX > 0xffffffffu ? "AES-128-GCM, portable (aes_ct64, ghash_ctmul64)"
					  : "AES-128-GCM, portable (aes_ct, ghash_ctmul)",
		UINTPTR_MAX > 0xffffffffu ? &br_aes_ct64_ctr_vtable : &br_aes_ct_ctr_vtable,
		UINTPTR_MAX > 0xffffffffu ? br_ghash_ctmul64 : br_ghash_ctmul);
	if (ni != NULL && pclmul != 0) {
		gcm_run("AES-128-GCM, x86 (aes_x86ni, ghash_pclmul)", ni, pclmul);
	}
	chapol_run(ctmulq != 0 ? "ChaCha20-Poly1305, portable (ct, ctmulq)" : "ChaCha20-Poly1305, portable (ct, ctmul)",
		   br_chacha20_ct_run, ctmulq != 0 ? ctmulq : br_poly1305_ctmul_run);
	if (sse2 != 0) {
		chapol_run("ChaCha20-Poly1305, x86 (sse2, ctmulq)", sse2, ctmulq != 0 ? ctmulq : br_poly1305_ctmul_run);
	}
	return 0;
}
