/*
 * smtp_data.c - the DATA stream filter: a byte-at-a-time state machine that
 * finds <CRLF>.<CRLF>, removes dot-stuffing, rejects bare CR and bare LF,
 * flags NUL bytes and long lines, and watches the header block for
 * Message-ID: and Date:. Pure: no I/O, no allocation; all state lives in the
 * caller's struct smtp_data. Runs in the session process.
 *
 * Every input byte produces at most one output byte, except that the start
 * of a header line (its field name) is held back in d->hname until its ':'
 * shows it is a header field; a line that turns out not to be one ends the
 * header block before any of its bytes are produced. A byte is consumed only
 * when the output has room for one byte and nothing held back is pending, so
 * all input consumed always means nothing pending.
 */
#include "smtp_data.h"

#include <string.h>

enum sd_state {
	SD_BOL = 0,  /* at the start of a line */
	SD_DOT,      /* the line began with '.' (removed unless it is the terminator) */
	SD_DOT_CR,   /* ".<CR>" at the start of a line: LF ends the message */
	SD_NAME,     /* header block: holding back a field name */
	SD_NAME_WSP, /* header block: blanks after the field name, before ':' */
	SD_TEXT,     /* inside a line */
	SD_CR,       /* a CR was produced: LF must follow */
	SD_DONE,     /* final: END reported */
	SD_BARE_LF,  /* final: BARE_LF reported */
	SD_BARE_CR,  /* final: BARE_CR reported */
};

struct sd_out {
	char *buf;
	size_t cap;
	size_t len;
};

void smtp_data_init(struct smtp_data *d, size_t max_line)
{
	memset(d, 0, sizeof(*d));
	d->state = SD_BOL;
	d->max_line = max_line;
	d->in_headers = 1;
}

/* RFC 5322 ftext: printable US-ASCII except ':'. */
static int sd_is_ftext(char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

static int sd_is_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Counts one octet of the current line (after unstuffing). */
static void sd_count(struct smtp_data *d)
{
	if (d->line_len <= d->max_line) {
		d->line_len++;
	}
	if (d->line_len > d->max_line) {
		d->errors |= SMTP_DATA_ERR_LONG_LINE;
	}
}

/* Produces one octet of the current line; the caller has checked for room. */
static void sd_put(struct smtp_data *d, struct sd_out *o, char c)
{
	sd_count(d);
	if (c == '\0') {
		d->errors |= SMTP_DATA_ERR_NUL;
	}
	o->buf[o->len++] = c;
}

/* 1 if the held-back field name equals the lower-case word w, ignoring ASCII case. */
static int sd_name_is(const struct smtp_data *d, const char *w)
{
	size_t i;

	for (i = 0; i < d->name_len; i++) {
		char c = d->hname[i];

		if (c >= 'A' && c <= 'Z') {
			c = (char)(c - 'A' + 'a');
		}
		if (w[i] == '\0' || c != w[i]) {
			return 0;
		}
	}
	return w[i] == '\0';
}

/* The held-back bytes become output (drained by smtp_data_feed); the line goes on as text. */
static void sd_release(struct smtp_data *d)
{
	d->flush_pos = 0;
	d->flush_len = d->hname_len;
	d->hname_len = 0;
	d->state = SD_TEXT;
}

/* The header block ends before the current line. */
static enum smtp_data_event sd_headers_end(struct smtp_data *d)
{
	d->in_headers = 0;
	if (d->headers_end_reported) {
		return SMTP_DATA_MORE;
	}
	d->headers_end_reported = 1;
	return SMTP_DATA_HEADERS_END;
}

/* Inside a line: CR must be followed by LF, LF alone is a violation. */
static enum smtp_data_event sd_text(struct smtp_data *d, char c, struct sd_out *o)
{
	if (c == '\n') {
		d->state = SD_BARE_LF;
		return SMTP_DATA_BARE_LF;
	}
	sd_put(d, o, c);
	if (c == '\r') {
		d->state = SD_CR;
	}
	return SMTP_DATA_MORE;
}

static enum smtp_data_event sd_cr(struct smtp_data *d, char c, struct sd_out *o)
{
	if (c != '\n') {
		d->state = SD_BARE_CR;
		return SMTP_DATA_BARE_CR;
	}
	sd_put(d, o, c);
	d->lines++;
	d->line_len = 0;
	d->state = SD_BOL;
	return SMTP_DATA_MORE;
}

/*
 * The first octet of a line's content (after a removed dot). In the header
 * block it starts a field name, continues the previous field (a blank), or
 * ends the block: then the state stays, *take is 0 and the same byte comes
 * back, handled as body text.
 */
static enum smtp_data_event sd_line_start(struct smtp_data *d, char c, struct sd_out *o, int *take)
{
	if (d->in_headers && c != '\n') {
		if (sd_is_ftext(c)) {
			sd_count(d);
			d->hname[0] = c;
			d->hname_len = 1;
			d->state = SD_NAME;
			return SMTP_DATA_MORE;
		}
		if (!sd_is_blank(c) || !d->have_header) {
			*take = 0;
			return sd_headers_end(d);
		}
	}
	d->state = SD_TEXT;
	return sd_text(d, c, o);
}

/* A header field name was followed by ':'. */
static void sd_field(struct smtp_data *d)
{
	if (d->state == SD_NAME) {
		d->name_len = d->hname_len;
	}
	if (sd_name_is(d, "message-id")) {
		d->has_message_id = 1;
	} else if (sd_name_is(d, "date")) {
		d->has_date = 1;
	}
	d->have_header = 1;
}

/* Holding back "name *WSP": ':' makes it a header field, anything else ends the header block. */
static enum smtp_data_event sd_name(struct smtp_data *d, char c, int *take)
{
	int blank = sd_is_blank(c);

	if (c == ':') {
		sd_field(d);
		sd_release(d);
		*take = 0; /* the ':' is produced as text once the name is out */
		return SMTP_DATA_MORE;
	}
	if (d->hname_len < sizeof(d->hname) && (blank || (d->state == SD_NAME && sd_is_ftext(c)))) {
		if (blank && d->state == SD_NAME) {
			d->name_len = d->hname_len;
			d->state = SD_NAME_WSP;
		}
		sd_count(d);
		d->hname[d->hname_len++] = c;
		return SMTP_DATA_MORE;
	}
	sd_release(d);
	*take = 0;
	return sd_headers_end(d);
}

static enum smtp_data_event sd_dot_cr(struct smtp_data *d, char c, int *take)
{
	if (c != '\n') {
		d->state = SD_BARE_CR;
		return SMTP_DATA_BARE_CR;
	}
	if (d->in_headers) {
		*take = 0; /* no blank line and no body: HEADERS_END comes just before END */
		return sd_headers_end(d);
	}
	d->state = SD_DONE;
	return SMTP_DATA_END;
}

/* The event a final state repeats, or MORE. */
static enum smtp_data_event sd_final(const struct smtp_data *d)
{
	switch (d->state) {
	case SD_DONE:
		return SMTP_DATA_END;
	case SD_BARE_LF:
		return SMTP_DATA_BARE_LF;
	case SD_BARE_CR:
		return SMTP_DATA_BARE_CR;
	default:
		return SMTP_DATA_MORE;
	}
}

/* One input byte; *take says whether it was consumed (it starts as 1). */
static enum smtp_data_event sd_step(struct smtp_data *d, char c, struct sd_out *o, int *take)
{
	switch (d->state) {
	case SD_BOL:
		if (c == '.') {
			d->state = SD_DOT;
			return SMTP_DATA_MORE;
		}
		return sd_line_start(d, c, o, take);
	case SD_DOT:
		if (c == '\r') {
			d->state = SD_DOT_CR;
			return SMTP_DATA_MORE;
		}
		return sd_line_start(d, c, o, take);
	case SD_DOT_CR:
		return sd_dot_cr(d, c, take);
	case SD_NAME:
	case SD_NAME_WSP:
		return sd_name(d, c, take);
	case SD_TEXT:
		return sd_text(d, c, o);
	case SD_CR:
		return sd_cr(d, c, o);
	default:
		*take = 0;
		return sd_final(d);
	}
}

enum smtp_data_event smtp_data_feed(struct smtp_data *d, const char *in, size_t in_len, size_t *consumed, char *out,
				    size_t out_cap, size_t *produced)
{
	struct sd_out o = { out, out_cap, 0 };
	enum smtp_data_event ev = sd_final(d);
	size_t i = 0;

	while (ev == SMTP_DATA_MORE) {
		while (d->flush_pos < d->flush_len && o.len < o.cap) {
			o.buf[o.len++] = d->hname[d->flush_pos++];
		}
		if (d->flush_pos < d->flush_len || o.len == o.cap || i == in_len) {
			break;
		}
		int take = 1;
		ev = sd_step(d, in[i], &o, &take);
		i += (size_t)take;
	}
	*consumed = i;
	*produced = o.len;
	d->bytes_out += o.len;
	return ev;
}
