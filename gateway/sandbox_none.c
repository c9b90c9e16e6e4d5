/*
 * sandbox_none.c - the backend of a build without seccomp
 * (CONFIG_SANDBOX_SECCOMP=n): no filter for any role. NO_NEW_PRIVS, the
 * chroot and the accounts still apply (sandbox.c, jail.c).
 */
#include <stddef.h>

#include "sandbox_backend.h"

int sandbox_backend_init(void)
{
	return 0;
}

const struct sock_filter *sandbox_backend_code(enum sandbox_role role, unsigned short *len)
{
	(void)role;
	*len = 0;
	return NULL;
}
