/*
 * harness.h - a minimal table-less unit test harness: TEST(name) registers a
 * function at start-up; CHECK() records a failure with file and line and
 * continues. The runner prints "unit: N passed, N failed".
 */
#ifndef SUBGATE_HARNESS_H
#define SUBGATE_HARNESS_H

#include <stddef.h>

void harness_register(const char *name, void (*fn)(void));
void harness_fail(const char *file, int line, const char *expr);
void harness_fail_bytes(const char *file, int line, const char *what, const void *got, const void *want, size_t len);

#define TEST(name)                                                     \
	static void name(void);                                        \
	__attribute__((constructor)) static void name##_register(void) \
	{                                                              \
		harness_register(#name, name);                         \
	}                                                              \
	static void name(void)

#define CHECK(expr)                                              \
	do {                                                     \
		if (!(expr)) {                                   \
			harness_fail(__FILE__, __LINE__, #expr); \
		}                                                \
	} while (0)

#define CHECK_BYTES(got, want, len)                                                         \
	do {                                                                                \
		if (memcmp((got), (want), (len)) != 0) {                                    \
			harness_fail_bytes(__FILE__, __LINE__, #got, (got), (want), (len)); \
		}                                                                           \
	} while (0)

#define CHECK_STR(got, want)                                                 \
	do {                                                                 \
		if (strcmp((got), (want)) != 0) {                            \
			harness_fail(__FILE__, __LINE__, #got " == " #want); \
		}                                                            \
	} while (0)

#endif
