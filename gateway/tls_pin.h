/*
 * tls_pin.h - the SPKI pin check of the relay's TLS client (tls_pin.c): a
 * br_x509_class that tls_client_setup installs in pin mode.
 */
#ifndef SUBGATE_TLS_PIN_H
#define SUBGATE_TLS_PIN_H

#include <bearssl.h>

/* The pin's class; its context is the pin_vtable member of a struct tls_client. */
extern const br_x509_class tls_pin_class;

#endif
