/*
 * password_test.c - what `subgate user` accepts as a password.
 */
#include <string.h>

#include "cli_password.h"
#include "config.h"
#include "harness.h"

TEST(password_problems)
{
	char longpw[CONFIG_PASSWORD_MAX + 1];

	CHECK(cli_password_problem("correct horse", 13) == NULL);
	CHECK(cli_password_problem("", 0) != NULL);
	CHECK(cli_password_problem("a\tb", 3) != NULL);
	CHECK(cli_password_problem("a\0b", 3) != NULL);
	CHECK(cli_password_problem("a\x7f", 2) != NULL);
	CHECK(cli_password_problem("p\xc3\xa4ss", 5) == NULL); /* UTF-8 is fine */
	memset(longpw, 'x', sizeof(longpw));
	CHECK(cli_password_problem(longpw, CONFIG_PASSWORD_MAX) == NULL);
	CHECK(cli_password_problem(longpw, CONFIG_PASSWORD_MAX + 1) != NULL);
}
