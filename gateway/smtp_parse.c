/*
 * smtp_parse.c - turns one SMTP command line into a struct smtp_cmd: verb
 * lookup, the argument rule of each verb, MAIL/RCPT paths and their ESMTP
 * parameters (RFC 5321 4.1.1-4.1.2, RFC 1870 SIZE, RFC 6152 BODY, RFC 4954
 * AUTH=). Pure: no I/O, no allocation, no global state, no locale. Runs in
 * the session process and owns nothing but its tables.
 */
#include "smtp_parse.h"

#include <string.h>

/* What follows the verb. */
enum sp_rule {
	SP_ARG_NONE,   /* nothing (DATA, QUIT, ...) */
	SP_ARG_ANY,    /* anything or nothing (NOOP, HELP, BDAT) */
	SP_ARG_NEEDED, /* a non-empty argument (EHLO, VRFY, ...) */
	SP_ARG_AUTH,
	SP_ARG_MAIL,
	SP_ARG_RCPT,
};

static const struct {
	const char *name;
	enum sp_rule rule;
} sp_verbs[SMTP_VERB_COUNT] = {
	[SMTP_VERB_UNKNOWN] = { "UNKNOWN", SP_ARG_ANY },
	[SMTP_VERB_EHLO] = { "EHLO", SP_ARG_NEEDED },       /* RFC 5321 4.1.1.1 */
	[SMTP_VERB_HELO] = { "HELO", SP_ARG_NEEDED },       /* RFC 5321 4.1.1.1 */
	[SMTP_VERB_STARTTLS] = { "STARTTLS", SP_ARG_NONE }, /* RFC 3207 */
	[SMTP_VERB_AUTH] = { "AUTH", SP_ARG_AUTH },         /* RFC 4954 */
	[SMTP_VERB_MAIL] = { "MAIL", SP_ARG_MAIL },         /* RFC 5321 4.1.1.2 */
	[SMTP_VERB_RCPT] = { "RCPT", SP_ARG_RCPT },         /* RFC 5321 4.1.1.3 */
	[SMTP_VERB_DATA] = { "DATA", SP_ARG_NONE },         /* RFC 5321 4.1.1.4 */
	[SMTP_VERB_RSET] = { "RSET", SP_ARG_NONE },         /* RFC 5321 4.1.1.5 */
	[SMTP_VERB_NOOP] = { "NOOP", SP_ARG_ANY },          /* RFC 5321 4.1.1.9 */
	[SMTP_VERB_QUIT] = { "QUIT", SP_ARG_NONE },         /* RFC 5321 4.1.1.10 */
	[SMTP_VERB_HELP] = { "HELP", SP_ARG_ANY },          /* RFC 5321 4.1.1.8 */
	[SMTP_VERB_VRFY] = { "VRFY", SP_ARG_NEEDED },       /* RFC 5321 4.1.1.6 */
	[SMTP_VERB_EXPN] = { "EXPN", SP_ARG_NEEDED },       /* RFC 5321 4.1.1.7 */
	[SMTP_VERB_BDAT] = { "BDAT", SP_ARG_ANY },          /* RFC 3030: recognised, refused */
};

/* MAIL parameters seen so far (duplicates are a syntax error). */
#define SP_SEEN_SIZE 0x1u
#define SP_SEEN_BODY 0x2u
#define SP_SEEN_AUTH 0x4u

/* One esmtp-param: keyword and optional value (val is NULL for a bare keyword). */
struct sp_param {
	const char *key;
	size_t klen;
	const char *val;
	size_t vlen;
};

static char sp_upper(char c)
{
	static const char upper[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";

	if (c >= 'a' && c <= 'z') {
		return upper[c - 'a'];
	}
	return c;
}

static int sp_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static int sp_is_hexup(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/* 1 if s (len bytes) equals the upper-case word w, ignoring ASCII case. */
static int sp_word_eq(const char *s, size_t len, const char *w)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (w[i] == '\0' || sp_upper(s[i]) != w[i]) {
			return 0;
		}
	}
	return w[i] == '\0';
}

/* 1 if every byte is printable US-ASCII or SP: no controls (TAB included), DEL or 8-bit bytes. */
static int sp_clean(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x20 || c >= 0x7f) {
			return 0;
		}
	}
	return 1;
}

static enum smtp_verb sp_lookup(const char *s, size_t len)
{
	for (int v = SMTP_VERB_UNKNOWN + 1; v < SMTP_VERB_COUNT; v++) {
		if (sp_word_eq(s, len, sp_verbs[v].name)) {
			return (enum smtp_verb)v;
		}
	}
	return SMTP_VERB_UNKNOWN;
}

/* The AUTH initial response: base64 characters, then at most two '=' at the end ("=" alone: empty). */
static int sp_base64_text(const char *s, size_t len)
{
	size_t i = 0, pad = 0;

	while (i < len && (sp_is_alnum(s[i]) || s[i] == '+' || s[i] == '/')) {
		i++;
	}
	while (i < len && s[i] == '=') {
		i++;
		pad++;
	}
	return i == len && pad <= 2;
}

/* AUTH mechanism [initial-response] (RFC 4954 section 4). */
static enum smtp_parse_status sp_auth(struct smtp_cmd *cmd, const char *arg, size_t len)
{
	size_t n = 0;

	while (n < len && arg[n] != ' ') {
		n++;
	}
	if (n == 0 || n > SMTP_AUTH_MECH_MAX) {
		return SMTP_PARSE_SYNTAX;
	}
	for (size_t i = 0; i < n; i++) {
		if (!sp_is_alnum(arg[i]) && arg[i] != '-' && arg[i] != '_') {
			return SMTP_PARSE_SYNTAX;
		}
		cmd->auth_mech[i] = sp_upper(arg[i]);
	}
	cmd->auth_mech[n] = '\0';
	if (n == len) {
		return SMTP_PARSE_OK;
	}
	const char *resp = arg + n + 1;
	size_t rlen = len - n - 1;
	if (rlen == 0 || rlen >= sizeof(cmd->auth_initial) || !sp_base64_text(resp, rlen)) {
		return SMTP_PARSE_SYNTAX;
	}
	memcpy(cmd->auth_initial, resp, rlen);
	cmd->auth_initial[rlen] = '\0';
	return SMTP_PARSE_OK;
}

/*
 * "FROM:<path>" or "TO:<path>" (prefix is upper case; one SP after the colon
 * tolerated). Copies the path to cmd->path and sets *end just past '>'; what
 * follows must be the end or a SP.
 */
static enum smtp_parse_status sp_path(struct smtp_cmd *cmd, const char *arg, size_t len, const char *prefix,
				      size_t *end)
{
	size_t plen = strlen(prefix), pos = plen;

	if (len < plen || !sp_word_eq(arg, plen, prefix)) {
		return SMTP_PARSE_SYNTAX;
	}
	if (pos < len && arg[pos] == ' ') {
		pos++;
	}
	if (pos >= len || arg[pos] != '<') {
		return SMTP_PARSE_BAD_ADDRESS;
	}
	pos++;
	const char *gt = memchr(arg + pos, '>', len - pos);
	if (gt == NULL) {
		return SMTP_PARSE_BAD_ADDRESS;
	}
	size_t alen = (size_t)(gt - (arg + pos));
	if (alen > ADDR_MAX) {
		return SMTP_PARSE_BAD_ADDRESS;
	}
	memcpy(cmd->path, arg + pos, alen);
	cmd->path[alen] = '\0';
	/* Source routes (<@a:b@c>) and quoted local parts are not supported. */
	if (cmd->path[0] == '@' || memchr(cmd->path, '"', alen) != NULL) {
		return SMTP_PARSE_BAD_ADDRESS;
	}
	*end = pos + alen + 1;
	if (*end < len && arg[*end] != ' ') {
		return SMTP_PARSE_SYNTAX;
	}
	return SMTP_PARSE_OK;
}

/*
 * SIZE=digits (RFC 1870). A number too large for 64 bits is not a syntax
 * error but a message too large: it saturates at UINT64_MAX (then 552).
 */
static enum smtp_parse_status sp_size(struct smtp_cmd *cmd, const struct sp_param *p)
{
	uint64_t n = 0;

	if (p->val == NULL || p->vlen == 0) {
		return SMTP_PARSE_SYNTAX;
	}
	for (size_t i = 0; i < p->vlen; i++) {
		unsigned d = (unsigned)(p->val[i] - '0');

		if (p->val[i] < '0' || p->val[i] > '9') {
			return SMTP_PARSE_SYNTAX;
		}
		n = n > (UINT64_MAX - d) / 10 ? UINT64_MAX : n * 10 + d;
	}
	cmd->has_size = 1;
	cmd->size = n;
	return SMTP_PARSE_OK;
}

/* xtext (RFC 3461 section 4): '+' only as "+XX" with upper-case hex digits. */
static int sp_xtext(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '+') {
			if (i + 2 >= len || !sp_is_hexup(s[i + 1]) || !sp_is_hexup(s[i + 2])) {
				return 0;
			}
			i += 2;
		}
	}
	return 1;
}

static enum smtp_parse_status sp_mail_param(struct smtp_cmd *cmd, const struct sp_param *p, unsigned *seen)
{
	unsigned bit;

	if (sp_word_eq(p->key, p->klen, "SIZE")) {
		bit = SP_SEEN_SIZE;
	} else if (sp_word_eq(p->key, p->klen, "BODY")) {
		bit = SP_SEEN_BODY;
	} else if (sp_word_eq(p->key, p->klen, "AUTH")) {
		bit = SP_SEEN_AUTH;
	} else {
		return SMTP_PARSE_UNKNOWN_PARAM;
	}
	if ((*seen & bit) != 0) {
		return SMTP_PARSE_SYNTAX;
	}
	*seen |= bit;
	if (bit == SP_SEEN_SIZE) {
		return sp_size(cmd, p);
	}
	if (p->val == NULL) {
		return SMTP_PARSE_SYNTAX;
	}
	if (bit == SP_SEEN_BODY) {
		if (sp_word_eq(p->val, p->vlen, "8BITMIME")) {
			cmd->body_8bitmime = 1;
		} else if (!sp_word_eq(p->val, p->vlen, "7BIT")) {
			return SMTP_PARSE_SYNTAX;
		}
		return SMTP_PARSE_OK;
	}
	if (!sp_xtext(p->val, p->vlen)) {
		return SMTP_PARSE_SYNTAX;
	}
	cmd->has_auth_param = 1;
	return SMTP_PARSE_OK;
}

/* Splits one esmtp-param (RFC 5321 4.1.2) and checks keyword and value syntax. */
static int sp_param_split(const char *s, size_t len, struct sp_param *p)
{
	const char *eq = memchr(s, '=', len);

	p->key = s;
	p->klen = eq != NULL ? (size_t)(eq - s) : len;
	p->val = eq != NULL ? eq + 1 : NULL;
	p->vlen = eq != NULL ? len - p->klen - 1 : 0;
	if (p->klen == 0 || !sp_is_alnum(p->key[0])) {
		return 0;
	}
	for (size_t i = 1; i < p->klen; i++) {
		if (!sp_is_alnum(p->key[i]) && p->key[i] != '-') {
			return 0;
		}
	}
	if (p->val != NULL && (p->vlen == 0 || memchr(p->val, '=', p->vlen) != NULL)) {
		return 0;
	}
	return 1;
}

/* The parameters after a path: s is empty or starts with the SP before the first one. */
static enum smtp_parse_status sp_params(struct smtp_cmd *cmd, const char *s, size_t len, int is_mail)
{
	size_t pos = 0;
	unsigned seen = 0;

	while (pos < len) {
		struct sp_param p;
		size_t start = ++pos; /* skips the SP */

		while (pos < len && s[pos] != ' ') {
			pos++;
		}
		if (!sp_param_split(s + start, pos - start, &p)) {
			return SMTP_PARSE_SYNTAX;
		}
		if (!is_mail) {
			return SMTP_PARSE_UNKNOWN_PARAM; /* no RCPT parameters (no DSN) */
		}
		enum smtp_parse_status st = sp_mail_param(cmd, &p, &seen);
		if (st != SMTP_PARSE_OK) {
			return st;
		}
	}
	return SMTP_PARSE_OK;
}

/*
 * A mailbox, or a bare local part (<postmaster>, <root>): returned as is, for
 * alias lookup (RCPT) and the local socket's own-name sender (MAIL); the
 * session decides where a bare name is allowed.
 */
static int sp_valid_path(const char *path, size_t plen)
{
	return memchr(path, '@', plen) == NULL ? addr_valid_local(path, plen) : addr_valid_mailbox(path, plen);
}

static enum smtp_parse_status sp_mail(struct smtp_cmd *cmd, const char *arg, size_t len)
{
	size_t end = 0, plen;
	enum smtp_parse_status st = sp_path(cmd, arg, len, "FROM:", &end);

	if (st != SMTP_PARSE_OK) {
		return st;
	}
	plen = strlen(cmd->path);
	if (plen != 0 && !sp_valid_path(cmd->path, plen)) {
		return SMTP_PARSE_BAD_ADDRESS;
	}
	return sp_params(cmd, arg + end, len - end, 1);
}

static enum smtp_parse_status sp_rcpt(struct smtp_cmd *cmd, const char *arg, size_t len)
{
	size_t end = 0, plen;
	enum smtp_parse_status st = sp_path(cmd, arg, len, "TO:", &end);

	if (st != SMTP_PARSE_OK) {
		return st;
	}
	plen = strlen(cmd->path);
	if (!sp_valid_path(cmd->path, plen)) {
		return SMTP_PARSE_BAD_ADDRESS;
	}
	return sp_params(cmd, arg + end, len - end, 0);
}

static enum smtp_parse_status sp_args(struct smtp_cmd *cmd, size_t alen)
{
	switch (sp_verbs[cmd->verb].rule) {
	case SP_ARG_NONE:
		return alen == 0 ? SMTP_PARSE_OK : SMTP_PARSE_SYNTAX;
	case SP_ARG_NEEDED:
		return alen != 0 && cmd->arg[0] != ' ' ? SMTP_PARSE_OK : SMTP_PARSE_SYNTAX;
	case SP_ARG_AUTH:
		return sp_auth(cmd, cmd->arg, alen);
	case SP_ARG_MAIL:
		return sp_mail(cmd, cmd->arg, alen);
	case SP_ARG_RCPT:
		return sp_rcpt(cmd, cmd->arg, alen);
	case SP_ARG_ANY:
		break;
	}
	return SMTP_PARSE_OK;
}

/* A line an HTTP client or proxy probe sends: never an SMTP command. */
static int sp_http(const char *line, size_t len)
{
	static const char *const starts[] = { "GET ", "POST ", "CONNECT ", "HOST:", "USER-AGENT:" };

	for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
		size_t n = strlen(starts[i]);

		if (len >= n && sp_word_eq(line, n, starts[i])) {
			return 1;
		}
	}
	return 0;
}

enum smtp_parse_status smtp_parse_line(const char *line, size_t len, struct smtp_cmd *cmd)
{
	size_t vlen = 0, alen = 0;

	memset(cmd, 0, sizeof(*cmd));
	while (len > 0 && line[len - 1] == ' ') {
		len--;
	}
	if (sp_http(line, len)) {
		return SMTP_PARSE_FORBIDDEN;
	}
	while (vlen < len && line[vlen] != ' ') {
		vlen++;
	}
	cmd->verb = sp_lookup(line, vlen);
	if (!sp_clean(line, len)) {
		return SMTP_PARSE_BAD_CHARACTER;
	}
	if (cmd->verb == SMTP_VERB_UNKNOWN) {
		return SMTP_PARSE_UNKNOWN_VERB;
	}
	if (vlen < len) {
		alen = len - vlen - 1;
	}
	if (alen >= sizeof(cmd->arg)) {
		return SMTP_PARSE_SYNTAX;
	}
	memcpy(cmd->arg, line + len - alen, alen);
	cmd->arg[alen] = '\0';
	return sp_args(cmd, alen);
}

const char *smtp_verb_name(enum smtp_verb verb)
{
	if ((int)verb < 0 || verb >= SMTP_VERB_COUNT) {
		return sp_verbs[SMTP_VERB_UNKNOWN].name;
	}
	return sp_verbs[verb].name;
}
