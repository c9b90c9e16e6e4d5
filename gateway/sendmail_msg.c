/*
 * sendmail_msg.c - lines, header block, recipients and the added From: of
 * the sendmail front end (see sendmail_msg.h). Pure: no I/O, no allocation;
 * every buffer belongs to the caller and has a fixed size.
 */
#include "sendmail_msg.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- lines ------------------------------------------------------------------ */

enum sendmail_line sendmail_line_next(const char *buf, size_t len, int eof, size_t *line_len, size_t *used)
{
	size_t scan = len < SENDMAIL_LINE_MAX + 2 ? len : SENDMAIL_LINE_MAX + 2;
	const char *nl = memchr(buf, '\n', scan);
	size_t n;

	if (nl != NULL) {
		n = (size_t)(nl - buf);
		*used = n + 1;
	} else if (len >= SENDMAIL_LINE_MAX + 2) {
		return SENDMAIL_LINE_LONG;
	} else if (eof && len > 0) {
		n = len;
		*used = len;
	} else {
		return SENDMAIL_LINE_NEED;
	}
	if (n > 0 && buf[n - 1] == '\r') {
		n--;
	}
	if (n > SENDMAIL_LINE_MAX) {
		return SENDMAIL_LINE_LONG;
	}
	if (memchr(buf, '\r', n) != NULL) {
		return SENDMAIL_LINE_BARE_CR;
	}
	*line_len = n;
	return SENDMAIL_LINE_OK;
}

size_t sendmail_line_smtp(const char *line, size_t len, char *out)
{
	size_t n = 0;

	if (len > 0 && line[0] == '.') {
		out[n++] = '.';
	}
	memcpy(out + n, line, len);
	n += len;
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}

/* --- the header block -------------------------------------------------------- */

void sendmail_head_init(struct sendmail_head *h)
{
	h->len = 0;
	h->have_field = 0;
}

/* 1 if line starts a header field: a name of printable characters, blanks, ':'. */
static int sm_is_field(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && line[i] > ' ' && line[i] < 0x7f && line[i] != ':') {
		i++;
	}
	if (i == 0) {
		return 0;
	}
	while (i < len && (line[i] == ' ' || line[i] == '\t')) {
		i++;
	}
	return i < len && line[i] == ':';
}

enum sendmail_head_status sendmail_head_line(struct sendmail_head *h, const char *line, size_t len)
{
	if (len == 0) {
		return SENDMAIL_HEAD_END;
	}
	if (line[0] == ' ' || line[0] == '\t' ? !h->have_field : !sm_is_field(line, len)) {
		return SENDMAIL_HEAD_BODY;
	}
	if (len + 1 > sizeof(h->text) - h->len) {
		return SENDMAIL_HEAD_FULL;
	}
	memcpy(h->text + h->len, line, len);
	h->len += len;
	h->text[h->len++] = '\n';
	h->have_field = 1;
	return SENDMAIL_HEAD_MORE;
}

int sendmail_head_field(const struct sendmail_head *h, size_t *pos, struct sendmail_field *f)
{
	const char *start = h->text + *pos, *end = h->text + h->len, *p, *colon;

	if (*pos >= h->len) {
		return 0;
	}
	p = start;
	do {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl != NULL ? nl + 1 : end;
	} while (p < end && (*p == ' ' || *p == '\t'));
	colon = memchr(start, ':', (size_t)(p - start));
	if (colon == NULL) { /* cannot happen: sendmail_head_line() keeps fields only */
		colon = p - 1;
	}
	f->start = start;
	f->len = (size_t)(p - start);
	f->name = start;
	f->name_len = (size_t)(colon - start);
	while (f->name_len > 0 && (start[f->name_len - 1] == ' ' || start[f->name_len - 1] == '\t')) {
		f->name_len--;
	}
	f->value = colon + 1;
	f->value_len = (size_t)(p - f->value);
	if (f->value_len > 0 && f->value[f->value_len - 1] == '\n') {
		f->value_len--;
	}
	*pos = (size_t)(p - h->text);
	return 1;
}

int sendmail_field_is(const struct sendmail_field *f, const char *name)
{
	return f->name_len == strlen(name) && strncasecmp(f->name, name, f->name_len) == 0;
}

int sendmail_head_has(const struct sendmail_head *h, const char *name)
{
	struct sendmail_field f;
	size_t pos = 0;

	while (sendmail_head_field(h, &pos, &f)) {
		if (sendmail_field_is(&f, name)) {
			return 1;
		}
	}
	return 0;
}

/* --- recipients --------------------------------------------------------------- */

void sendmail_rcpts_init(struct sendmail_rcpts *r)
{
	r->len = 0;
	r->n = 0;
	r->error = NULL;
}

const char *sendmail_rcpts_next(const struct sendmail_rcpts *r, size_t *pos)
{
	const char *a;

	if (*pos >= r->len) {
		return NULL;
	}
	a = r->buf + *pos;
	*pos += strlen(a) + 1;
	return a;
}

/* Adds one address unless it is there already. Returns 1 added, 0 duplicate, -1 full. */
static int sm_rcpt_add(struct sendmail_rcpts *r, const char *a, size_t len)
{
	size_t pos = 0;
	const char *have;

	while ((have = sendmail_rcpts_next(r, &pos)) != NULL) {
		if (strlen(have) == len && memcmp(have, a, len) == 0) {
			return 0;
		}
	}
	if (r->n >= SENDMAIL_RCPT_MAX || len + 1 > sizeof(r->buf) - r->len) {
		r->error = "too many recipients";
		return -1;
	}
	memcpy(r->buf + r->len, a, len);
	r->buf[r->len + len] = '\0';
	r->len += len + 1;
	r->n++;
	return 1;
}

/* One member of an address list while it is parsed. */
struct sm_member {
	char text[ADDR_MAX + 1]; /* outside <>: the addr-spec (or a display name) without CFWS */
	size_t text_len;
	char angle[ADDR_MAX + 1]; /* inside <> */
	size_t angle_len;
	int text_long, angle_long;
	int has_angle;
	int phrase;    /* two words with only white space between: a display name */
	int last_word; /* the last token was a word (atom, quoted string, literal) */
	int space;     /* white space or a comment since the last token */
	int at;        /* an '@' outside <> and quotes: text is an address, not a name */
};

#define SM_SPECIALS "()<>[]:;@,.\"" /* a backslash outside quotes stays in its atom */

static int sm_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void sm_append(char *buf, size_t *len, int *long_flag, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\r' || s[i] == '\n') { /* a fold inside a quoted string: unfolded */
			continue;
		}
		if (*len >= ADDR_MAX) {
			*long_flag = 1;
			return;
		}
		buf[(*len)++] = s[i];
	}
}

/* Skips a comment at s[*i] == '('; returns 0, or -1 if it does not end. */
static int sm_comment(const char *s, size_t len, size_t *i)
{
	unsigned depth = 0;

	for (; *i < len; (*i)++) {
		if (s[*i] == '\\') {
			(*i)++;
		} else if (s[*i] == '(') {
			depth++;
		} else if (s[*i] == ')' && --depth == 0) {
			(*i)++;
			return 0;
		}
	}
	return -1;
}

/*
 * Length of the quoted string (or, with close ']', domain literal: dtext
 * only, no blanks) at s[i]; 0 if it does not end or is malformed.
 */
static size_t sm_quoted(const char *s, size_t len, size_t i, char close)
{
	for (size_t j = i + 1; j < len; j++) {
		if (close == ']' && (s[j] == '[' || s[j] == '\\' || (unsigned char)s[j] <= ' ')) {
			return 0;
		}
		if (s[j] == '\\') {
			j++;
		} else if (s[j] == close) {
			return j - i + 1;
		}
	}
	return 0;
}

/* 1 if a has no control character, and no blank, '<' or '>' outside quoted strings. */
static int sm_clean(const char *a, size_t n)
{
	int quoted = 0;

	for (size_t i = 0; i < n; i++) {
		if ((unsigned char)a[i] < 0x20 || a[i] == 0x7f) {
			return 0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)a[i];

		if (!quoted && (c == ' ' || c == '<' || c == '>')) {
			return 0;
		}
		if (quoted && c == '\\' && i + 1 < n) {
			i++;
		} else if (c == '"') {
			quoted = !quoted;
		}
	}
	return 1;
}

/* The <...> at s[*i] == '<' into m->angle; returns NULL or the error. */
static const char *sm_angle(struct sm_member *m, const char *s, size_t len, size_t *i)
{
	int space = 0;

	if (m->has_angle) {
		return "two <addresses> in one list member";
	}
	for ((*i)++; *i < len; (*i)++) {
		char c = s[*i];
		size_t q;

		if (sm_wsp(c)) {
			space = 1;
			continue;
		}
		/* blanks may stand around ".@:," (obsolete syntax), never between two words */
		if (space && m->angle_len > 0 && strchr(".@:,>(", c) == NULL &&
		    strchr(".@:,", m->angle[m->angle_len - 1]) == NULL) {
			return "a blank inside <address>";
		}
		space = 0;
		if (c == '>') {
			(*i)++;
			m->has_angle = 1;
			return NULL;
		}
		if (c == '<') {
			return "'<' inside <address>";
		}
		if (c == '(') {
			if (sm_comment(s, len, i) < 0) {
				return "unbalanced parenthesis (a comment that does not end)";
			}
			(*i)--;
			space = 1;
			continue;
		}
		q = c == '"' ? sm_quoted(s, len, *i, '"') : 1;
		if (q == 0) {
			return "unterminated quoted string";
		}
		sm_append(m->angle, &m->angle_len, &m->angle_long, s + *i, q);
		*i += q - 1;
	}
	return "missing '>'";
}

/* Appends a word or a special (".", "@") outside <>. */
static const char *sm_token(struct sm_member *m, const char *tok, size_t n, int word)
{
	if (m->has_angle) {
		return "text after <address>";
	}
	if (word && m->last_word && m->space) {
		m->phrase = 1;
	}
	sm_append(m->text, &m->text_len, &m->text_long, tok, n);
	m->last_word = word;
	m->space = 0;
	m->at |= !word && tok[0] == '@';
	return NULL;
}

/* Ends a member: adds its address, if it has one. Returns NULL or the error. */
static const char *sm_finish(struct sendmail_rcpts *r, struct sm_member *m, int *added)
{
	const char *a = m->text;
	size_t n = m->text_len;
	int rc;

	if (m->has_angle) {
		a = m->angle;
		n = m->angle_len;
		if (m->angle_long) {
			return "address longer than 254 octets";
		}
		if (n > 0 && a[0] == '@') { /* obsolete source route: <@a,@b:user@c> */
			const char *colon = memchr(a, ':', n);

			if (colon == NULL) {
				return "source route without ':'";
			}
			n -= (size_t)(colon + 1 - a);
			a = colon + 1;
		}
	} else if (m->phrase) {
		return "a display name without an <address>";
	} else if (m->text_long) {
		return "address longer than 254 octets";
	}
	if (!sm_clean(a, n)) {
		return "control character, blank or <> in an address";
	}
	rc = n > 0 ? sm_rcpt_add(r, a, n) : 0;
	memset(m, 0, sizeof(*m));
	if (rc < 0) {
		return r->error;
	}
	*added += rc;
	return NULL;
}

/* One step of the list parser at s[*i]; returns NULL or the error. */
static const char *sm_step(struct sendmail_rcpts *r, struct sm_member *m, int *in_group, int *added, const char *s,
			   size_t len, size_t *i)
{
	char c = s[*i];
	size_t n;

	if (sm_wsp(c)) {
		m->space = 1;
		(*i)++;
		return NULL;
	}
	switch (c) {
	case '(':
		m->space = 1;
		return sm_comment(s, len, i) < 0 ? "unbalanced parenthesis (a comment that does not end)" : NULL;
	case '<':
		return sm_angle(m, s, len, i);
	case '>':
		return "'>' without '<'";
	case ')':
		return "unbalanced parenthesis (')' without '(')";
	case ']':
		return "']' without '['";
	case ',':
		(*i)++;
		return sm_finish(r, m, added);
	case ';':
		(*i)++;
		*in_group = 0;
		return sm_finish(r, m, added);
	case ':':
		if (m->has_angle || m->at || *in_group) {
			return "unexpected ':'";
		}
		(*i)++;
		*in_group = 1;
		memset(m, 0, sizeof(*m)); /* the group's display name */
		return NULL;
	case '@':
	case '.':
		(*i)++;
		return sm_token(m, &c, 1, 0);
	case '"':
	case '[':
		n = sm_quoted(s, len, *i, c == '"' ? '"' : ']');
		if (n == 0) {
			return c == '"' ? "unterminated quoted string" : "missing ']'";
		}
		*i += n;
		return sm_token(m, s + *i - n, n, 1);
	default:
		n = 1;
		while (*i + n < len && !sm_wsp(s[*i + n]) && strchr(SM_SPECIALS, s[*i + n]) == NULL) {
			n++;
		}
		*i += n;
		return sm_token(m, s + *i - n, n, 1);
	}
}

int sendmail_rcpts_parse(struct sendmail_rcpts *r, const char *s, size_t len)
{
	struct sm_member m;
	int in_group = 0, added = 0;
	size_t i = 0;
	const char *err = NULL;

	memset(&m, 0, sizeof(m));
	r->error = NULL;
	while (err == NULL && i < len) {
		err = sm_step(r, &m, &in_group, &added, s, len, &i);
	}
	if (err == NULL) {
		err = sm_finish(r, &m, &added);
	}
	if (err != NULL) {
		r->error = err;
		return -1;
	}
	return added;
}

int sendmail_rcpts_from_head(struct sendmail_rcpts *r, const struct sendmail_head *h, const char **bad)
{
	static const char *const names[] = { "To", "Cc", "Bcc" };
	struct sendmail_field f;
	size_t pos = 0;
	int total = 0;

	while (sendmail_head_field(h, &pos, &f)) {
		for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
			int n;

			if (!sendmail_field_is(&f, names[i])) {
				continue;
			}
			n = sendmail_rcpts_parse(r, f.value, f.value_len);
			if (n < 0) {
				*bad = names[i];
				return -1;
			}
			total += n;
		}
	}
	return total;
}

/* --- the sender ------------------------------------------------------------------ */

/* 1 if the n octets at s make a usable path: no blanks, control characters or <>, and they fit. */
static int sm_path_ok(const char *s, size_t n, size_t cap)
{
	if (n > ADDR_MAX || n >= cap) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || c == '<' || c == '>') {
			return 0;
		}
	}
	return 1;
}

int sendmail_reply_sender(const char *text, char *out, size_t cap)
{
	const char *end;
	size_t n;

	if (text[0] != '<' || (end = strchr(text, '>')) == NULL) {
		return -1;
	}
	n = (size_t)(end - text - 1);
	if (n == 0 || !sm_path_ok(text + 1, n, cap)) {
		return -1;
	}
	memcpy(out, text + 1, n);
	out[n] = '\0';
	return 0;
}

int sendmail_arg_sender(const char *arg, char *out, size_t cap)
{
	size_t n = strlen(arg);

	if (n >= 2 && arg[0] == '<' && arg[n - 1] == '>') {
		arg++;
		n -= 2;
	}
	if (!sm_path_ok(arg, n, cap)) {
		return -1;
	}
	memcpy(out, arg, n);
	out[n] = '\0';
	return 0;
}

/* 1 if c may stand in a display name without quotes (atext, blank, 8-bit). */
static int sm_plain_name_char(unsigned char c)
{
	return c == ' ' || c >= 0x80 || (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') ||
	       (c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

size_t sendmail_from_line(const char *name, const char *addr, char *out, size_t cap)
{
	char clean[SENDMAIL_NAME_MAX + 1], quoted[2 * SENDMAIL_NAME_MAX + 3];
	size_t n = 0, q = 0;
	int plain = 1, len;

	for (const char *p = name ? name : ""; *p != '\0' && n < SENDMAIL_NAME_MAX; p++) {
		unsigned char c = (unsigned char)*p;

		clean[n++] = (char)(c < 0x20 || c == 0x7f ? ' ' : c);
	}
	while (n > 0 && clean[n - 1] == ' ') {
		n--;
	}
	clean[n] = '\0';
	name = clean + strspn(clean, " ");
	for (const char *p = name; *p != '\0'; p++) {
		plain &= sm_plain_name_char((unsigned char)*p);
	}
	if (!plain) {
		quoted[q++] = '"';
		for (const char *p = name; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\') {
				quoted[q++] = '\\';
			}
			quoted[q++] = *p;
		}
		quoted[q++] = '"';
	}
	quoted[q] = '\0';
	if (*name == '\0') {
		len = snprintf(out, cap, "From: %s", addr);
	} else {
		len = snprintf(out, cap, "From: %s <%s>", plain ? name : quoted, addr);
	}
	return len < 0 ? 0 : (size_t)len < cap ? (size_t)len : cap - 1;
}
