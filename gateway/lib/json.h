/*
 * json.h - a bounded, streaming JSON (RFC 8259) writer over a caller-owned
 * struct: no allocation, output handed piece by piece to a sink that
 * batches it (the control socket's buffer, a test buffer). Commas are placed by the writer; nesting
 * is limited to JSON_DEPTH_MAX. Used by the queue control protocol.
 *
 * Strings: '"' and '\\' are escaped; \b \f \n \r \t get their short forms;
 * every other byte below 0x20 and 0x7f become \u00XX. Well-formed UTF-8
 * passes through unchanged. A byte that does not start or continue a
 * well-formed UTF-8 sequence (Latin-1 text, binary) becomes \u00XX with the
 * byte's value, i.e. it is read as the Latin-1 character of that value: the
 * output is always valid UTF-8 JSON, and exact for ASCII and UTF-8 input.
 */
#ifndef SUBGATE_JSON_H
#define SUBGATE_JSON_H

#include <stddef.h>
#include <stdint.h>

#define JSON_DEPTH_MAX 16

/* Receives output; returns 0, or -1 to fail the document (every later call does nothing). */
typedef int (*json_sink)(void *ctx, const char *data, size_t len);

struct json {
	json_sink sink;
	void *ctx;
	int failed;
	unsigned depth;
	uint32_t has_member; /* bit d: the container at depth d has a member already */
	int after_key;       /* a key was written; the value follows without a comma */
};

void json_init(struct json *j, json_sink sink, void *ctx);

void json_object_begin(struct json *j);
void json_object_end(struct json *j);
void json_array_begin(struct json *j);
void json_array_end(struct json *j);

/* An object member's name; the next value call writes its value. */
void json_key(struct json *j, const char *key);

void json_string(struct json *j, const char *s);
void json_uint(struct json *j, uint64_t v);
void json_int(struct json *j, int64_t v);
void json_bool(struct json *j, int v);
void json_null(struct json *j);

/*
 * A string value written in pieces (a message file read in chunks):
 * json_string_begin, then json_string_chunk as often as needed, then
 * json_string_end. A chunk returns how many bytes it consumed: all of them
 * when `last` is set, otherwise an incomplete UTF-8 sequence at the end
 * (at most 3 bytes) is left for the caller to pass again with more data.
 */
void json_string_begin(struct json *j);
size_t json_string_chunk(struct json *j, const void *data, size_t len, int last);
void json_string_end(struct json *j);

/* Ends the document. Returns 0, or -1 if the sink failed or containers are still open. */
int json_finish(struct json *j);

#endif
