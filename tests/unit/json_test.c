/*
 * json_test.c - the JSON writer: structure and commas, numbers, escaping of
 * quotes, backslashes and control bytes, UTF-8 passed through, ill-formed
 * bytes escaped, chunked strings split inside a character, bounds and sink
 * failures.
 */
#include <string.h>

#include "harness.h"
#include "json.h"

struct json_capture {
	size_t len;
	int fail_after; /* the sink fails once this many bytes arrived (0: never) */
	char buf[4096];
};

static int capture_sink(void *ctx, const char *data, size_t len)
{
	struct json_capture *c = ctx;

	if (c->fail_after > 0 && c->len + len > (size_t)c->fail_after) {
		return -1;
	}
	if (len > sizeof(c->buf) - 1 - c->len) {
		return -1;
	}
	memcpy(c->buf + c->len, data, len);
	c->len += len;
	c->buf[c->len] = '\0';
	return 0;
}

static struct json_capture cap;
static struct json js;

static void start(void)
{
	memset(&cap, 0, sizeof(cap));
	json_init(&js, capture_sink, &cap);
}

TEST(json_structure_and_commas)
{
	start();
	json_object_begin(&js);
	json_key(&js, "count");
	json_uint(&js, 2);
	json_key(&js, "list");
	json_array_begin(&js);
	json_object_begin(&js);
	json_key(&js, "a");
	json_int(&js, -5);
	json_key(&js, "b");
	json_null(&js);
	json_object_end(&js);
	json_string(&js, "x");
	json_bool(&js, 1);
	json_bool(&js, 0);
	json_array_begin(&js);
	json_array_end(&js);
	json_array_end(&js);
	json_key(&js, "big");
	json_uint(&js, UINT64_MAX);
	json_object_end(&js);
	CHECK(json_finish(&js) == 0);
	CHECK_STR(cap.buf, "{\"count\":2,\"list\":[{\"a\":-5,\"b\":null},\"x\",true,false,[]],"
			   "\"big\":18446744073709551615}");
}

TEST(json_escapes_control_and_specials)
{
	static const char in[] = "a\"b\\c\n\r\t\b\f\x01\x1f\x7f/ ~";

	start();
	json_string(&js, in);
	CHECK(json_finish(&js) == 0);
	CHECK_STR(cap.buf, "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001f\\u007f/ ~\"");
}

TEST(json_utf8_passes_and_bad_bytes_escape)
{
	/* é (2 bytes), € (3), U+1F600 (4): unchanged */
	start();
	json_string(&js, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	CHECK(json_finish(&js) == 0);
	CHECK_STR(cap.buf, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");

	/* Latin-1 é, a lone continuation byte, an overlong '/', a surrogate, > U+10FFFF, cut sequence */
	start();
	json_string(&js, "\xe9|\x80|\xc0\xaf|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82");
	CHECK(json_finish(&js) == 0);
	CHECK_STR(cap.buf, "\"\\u00e9|\\u0080|\\u00c0\\u00af|\\u00ed\\u00a0\\u0080|"
			   "\\u00f4\\u0090\\u0080\\u0080|\\u00e2\\u0082\"");
}

TEST(json_chunks_split_inside_a_character)
{
	static const char text[] = "x\xe2\x82\xacy";
	size_t used;

	start();
	json_string_begin(&js);
	used = json_string_chunk(&js, text, 3, 0); /* "x" and two bytes of the euro sign */
	CHECK(used == 1);
	used += json_string_chunk(&js, text + used, sizeof(text) - 1 - used, 1);
	CHECK(used == sizeof(text) - 1);
	json_string_end(&js);
	CHECK(json_finish(&js) == 0);
	CHECK_STR(cap.buf, "\"x\xe2\x82\xacy\"");
}

TEST(json_long_output_goes_through_the_buffer)
{
	char s[1000];

	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	start();
	json_array_begin(&js);
	json_string(&js, s);
	json_string(&js, "\n");
	json_array_end(&js);
	CHECK(json_finish(&js) == 0);
	CHECK(cap.len == 1 + 1 + 999 + 1 + 1 + 4 + 1);
	CHECK_STR(cap.buf + cap.len - 6, ",\"\\n\"]");
}

TEST(json_refuses_misuse)
{
	start();
	json_object_begin(&js);
	CHECK(json_finish(&js) < 0); /* unclosed */

	start();
	json_array_end(&js); /* nothing open */
	CHECK(json_finish(&js) < 0);

	start();
	json_object_begin(&js);
	json_key(&js, "a");
	json_object_end(&js); /* a key without its value */
	CHECK(json_finish(&js) < 0);

	start();
	for (int i = 0; i < JSON_DEPTH_MAX + 2; i++) {
		json_array_begin(&js);
	}
	CHECK(json_finish(&js) < 0);
}

TEST(json_sink_failure_is_sticky)
{
	char s[600];

	memset(s, 'b', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	start();
	cap.fail_after = 100;
	json_array_begin(&js);
	json_string(&js, s);
	json_array_end(&js);
	CHECK(json_finish(&js) < 0);
	CHECK(cap.len <= 100);
}
