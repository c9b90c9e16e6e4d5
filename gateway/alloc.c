/*
 * alloc.c - the allocation trap (CONFIG_TEST_ALLOC_TRAP only; see alloc.h).
 *
 * The link wraps the allocator (-Wl,--wrap=malloc and so on, Makefile): every
 * undefined reference to malloc, in our objects and in libc.a's (fdopendir,
 * getaddrinfo, fopen, ...), goes to __wrap_malloc here, which forwards to
 * musl's own (__real_malloc) until the process froze. Not caught: musl's
 * internal __libc_malloc (time zones, locales, atexit), which the daemon
 * does not reach.
 *
 * free counts as well: a free after the freeze releases memory that some
 * steady-state path allocated, or start-up memory that a reload replaces;
 * either way the heap changed after start-up. free(NULL) is allowed.
 *
 * The log line gives the caller's address and its offset in the binary
 * (a static PIE: the offset from __ehdr_start); the trap build is not
 * stripped, so `addr2line -f -e build/alloc-trap/subgate OFFSET` names the
 * function. A caller inside libc (fdopendir) names the libc function.
 */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

#if CONFIG_TEST_ALLOC_TRAP /* built only then (Makefile); the guard keeps `make lint` of other configurations quiet */
void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void __real_free(void *p);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **out, size_t align, size_t n);
void *__real_memalign(size_t align, size_t n);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void __wrap_free(void *p);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __wrap_posix_memalign(void **out, size_t align, size_t n);
void *__wrap_memalign(size_t align, size_t n);

extern const char __ehdr_start[];

static const char *alloc_who;        /* NULL until the freeze */
static const char *alloc_exempt_why; /* set inside the exemption */

void alloc_freeze(const char *who)
{
	alloc_who = who;
}

void alloc_exempt_begin(const char *why)
{
	alloc_exempt_why = why;
}

void alloc_exempt_end(void)
{
	const char *probe = getenv("SUBGATE_TEST_ALLOC_PROBE");

	alloc_exempt_why = NULL;
	/* the test of the exemption: this process allocates right after it, which must trap */
	if (alloc_who != NULL && probe != NULL && *probe != '\0' && strcmp(probe, alloc_who) == 0) {
		log_info("alloc-trap: probe: allocating after the exemption (%s)", alloc_who);
		__real_free(malloc(16));
	}
}

static void alloc_check(const char *fn, size_t n, const void *caller)
{
	if (alloc_who == NULL || alloc_exempt_why != NULL) {
		return;
	}
	log_err("alloc-trap: %s(%zu) in the %s process (pid %d) after start-up, called from %p "
		"(addr2line -f -e subgate %#lx)",
		fn, n, alloc_who, (int)getpid(), caller, (unsigned long)((const char *)caller - __ehdr_start));
	abort();
}

void *__wrap_malloc(size_t n)
{
	alloc_check("malloc", n, __builtin_return_address(0));
	return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
	alloc_check("calloc", n * size, __builtin_return_address(0));
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
	alloc_check("realloc", n, __builtin_return_address(0));
	return __real_realloc(p, n);
}

void __wrap_free(void *p)
{
	if (p != NULL) {
		alloc_check("free", 0, __builtin_return_address(0));
	}
	__real_free(p);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
	alloc_check("aligned_alloc", n, __builtin_return_address(0));
	return __real_aligned_alloc(align, n);
}

int __wrap_posix_memalign(void **out, size_t align, size_t n)
{
	alloc_check("posix_memalign", n, __builtin_return_address(0));
	return __real_posix_memalign(out, align, n);
}

void *__wrap_memalign(size_t align, size_t n)
{
	alloc_check("memalign", n, __builtin_return_address(0));
	return __real_memalign(align, n);
}
#endif
