/*
 * alloc.h - "no allocation after start-up", proved: the allocation trap of the
 * test build (CONFIG_TEST_ALLOC_TRAP, alloc.c). Every process calls
 * alloc_freeze() when it reaches its steady state; from then on any malloc,
 * calloc, realloc, aligned_alloc, posix_memalign, memalign or free of a
 * pointer logs "alloc-trap: ..." (the process, the caller's address) and
 * aborts. A process forked from a frozen one is frozen from birth. In every
 * other build these are empty inline functions.
 *
 * The one exemption: the relay resolving the smarthost (musl's getaddrinfo
 * allocates its answer) runs between alloc_exempt_begin() and
 * alloc_exempt_end(); nothing else does.
 */
#ifndef SUBGATE_ALLOC_H
#define SUBGATE_ALLOC_H

#include "config.h"

#if CONFIG_TEST_ALLOC_TRAP
/* From now on this process (named who in the trap's log line) must not allocate. */
void alloc_freeze(const char *who);

/* Allows allocation until alloc_exempt_end(), for the reason given (the resolver only). */
void alloc_exempt_begin(const char *why);
void alloc_exempt_end(void);
#else
static inline void alloc_freeze(const char *who)
{
	(void)who;
}

static inline void alloc_exempt_begin(const char *why)
{
	(void)why;
}

static inline void alloc_exempt_end(void)
{
}
#endif

#endif
