/*
 * cert_cmd.h - `subgate cert --self-signed`: a new EC P-256 key and a
 * self-signed certificate for the host name, written where the configuration
 * (tls_key, tls_cert) expects them. Compiled only with CONFIG_TOOL_CERT;
 * otherwise a stub says so.
 */
#ifndef SUBGATE_CERT_CMD_H
#define SUBGATE_CERT_CMD_H

#include <sysexits.h>

#include "config.h"
#include "log.h"

#if CONFIG_TOOL_CERT
int cmd_cert(int argc, char **argv);
#else
static inline int cmd_cert(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_err("this subgate was built without `cert` (CONFIG_TOOL_CERT)");
	return EX_UNAVAILABLE;
}
#endif

#endif
