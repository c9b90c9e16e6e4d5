/*
 * der_test.c - the DER writer (lengths in short and long form, INTEGER
 * padding, nesting, refusal to overflow the caller's buffer), the reader
 * (headers within a bound, what it refuses; it reads what the writer wrote)
 * and the X.509 time format (UTCTime before 2050, GeneralizedTime after).
 */
#include <string.h>

#include "der.h"
#include "harness.h"
#include "timefmt.h"

TEST(der_lengths_short_and_long_form)
{
	static const size_t lens[] = { 0, 1, 127, 128, 255, 256, 300, 65535, 65536 };
	static const size_t hdr[] = { 2, 2, 2, 3, 3, 4, 4, 4, 5 };
	static unsigned char buf[70000], content[65536];
	struct der d;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		der_init(&d, buf, sizeof(buf));
		CHECK(der_tlv(&d, DER_OCTET_STRING, content, lens[i]) == 0);
		CHECK(d.len == hdr[i] + lens[i]);
		CHECK(buf[0] == DER_OCTET_STRING);
	}
	der_init(&d, buf, sizeof(buf));
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, 127) == 0);
	CHECK(buf[1] == 127);
	der_init(&d, buf, sizeof(buf));
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, 128) == 0);
	CHECK_BYTES(buf, "\x04\x81\x80", 3);
	der_init(&d, buf, sizeof(buf));
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, 300) == 0);
	CHECK_BYTES(buf, "\x04\x82\x01\x2c", 4);
	der_init(&d, buf, sizeof(buf));
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, 65536) == 0);
	CHECK_BYTES(buf, "\x04\x83\x01\x00\x00", 5);
}

TEST(der_integer_minimal_and_sign_padded)
{
	static const struct {
		const char *in;
		size_t n;
		const char *out;
		size_t outn;
	} v[] = {
		{ "", 0, "\x02\x01\x00", 3 },
		{ "\x00", 1, "\x02\x01\x00", 3 },
		{ "\x00\x00\x00", 3, "\x02\x01\x00", 3 },
		{ "\x02", 1, "\x02\x01\x02", 3 },
		{ "\x7f", 1, "\x02\x01\x7f", 3 },
		{ "\x80", 1, "\x02\x02\x00\x80", 4 },
		{ "\x00\x80", 2, "\x02\x02\x00\x80", 4 },
		{ "\x00\x00\x01\x00", 4, "\x02\x02\x01\x00", 4 },
		{ "\xff\xff", 2, "\x02\x03\x00\xff\xff", 5 },
	};
	unsigned char buf[16];
	struct der d;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		der_init(&d, buf, sizeof(buf));
		CHECK(der_uint(&d, (const unsigned char *)v[i].in, v[i].n) == 0);
		CHECK(d.len == v[i].outn);
		CHECK_BYTES(buf, v[i].out, v[i].outn);
	}
}

TEST(der_nesting_moves_long_contents)
{
	static unsigned char buf[600], content[200];
	struct der d;
	size_t outer, inner;

	memset(content, 0xab, sizeof(content));
	der_init(&d, buf, sizeof(buf));
	outer = der_begin(&d, DER_SEQUENCE);
	inner = der_begin(&d, DER_CONTEXT_CONS(3));
	CHECK(der_bool(&d, 1) == 0);
	CHECK(der_end(&d, inner) == 0);
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, sizeof(content)) == 0); /* 203 bytes */
	CHECK(der_bits(&d, "\x01\x02", 2) == 0);
	CHECK(der_end(&d, outer) == 0);
	CHECK(der_ok(&d));
	/* SEQUENCE, 5 + 203 + 5 = 213 = 0xd5 bytes: long form, one length byte */
	CHECK(d.len == 3 + 213);
	CHECK_BYTES(buf, "\x30\x81\xd5\xa3\x03\x01\x01\xff\x04\x81\xc8\xab", 12);
	CHECK_BYTES(buf + 3 + 208, "\x03\x03\x00\x01\x02", 5);

	/* an empty constructed element */
	der_init(&d, buf, sizeof(buf));
	CHECK(der_end(&d, der_begin(&d, DER_SEQUENCE)) == 0);
	CHECK(d.len == 2);
	CHECK_BYTES(buf, "\x30\x00", 2);
}

TEST(der_refuses_to_overflow_the_buffer)
{
	unsigned char buf[8], content[16] = { 0 };
	struct der d;
	size_t mark;

	/* exactly full is fine; one byte more is not, and the error is sticky */
	der_init(&d, buf, sizeof(buf));
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, 6) == 0);
	CHECK(d.len == 8 && der_ok(&d));
	CHECK(der_raw(&d, content, 1) == -1);
	CHECK(!der_ok(&d) && d.len == 8);
	CHECK(der_raw(&d, content, 0) == -1);

	der_init(&d, buf, sizeof(buf));
	CHECK(der_tlv(&d, DER_OCTET_STRING, content, 7) == -1);
	CHECK(!der_ok(&d));

	der_init(&d, buf, sizeof(buf));
	CHECK(der_uint(&d, (const unsigned char *)"\xff\xff\xff\xff\xff\xff", 6) == -1); /* 2 + 7 bytes */

	der_init(&d, buf, sizeof(buf));
	CHECK(der_bits(&d, content, 7) == -1);
	der_init(&d, buf, sizeof(buf));
	CHECK(der_bits(&d, content, (size_t)-1) == -1);

	/* the long form of a length that no longer fits once the element is closed */
	static unsigned char big[140];
	der_init(&d, big, sizeof(big));
	mark = der_begin(&d, DER_SEQUENCE);
	CHECK(der_raw(&d, content, 16) == 0);
	while (d.len + 16 <= sizeof(big)) {
		CHECK(der_raw(&d, content, 16) == 0);
	}
	CHECK(der_raw(&d, content, sizeof(big) - d.len) == 0); /* 138 content bytes: needs 0x81 0x8a */
	CHECK(der_end(&d, mark) == -1);
	CHECK(!der_ok(&d));

	/* a mark that is not one */
	der_init(&d, buf, sizeof(buf));
	CHECK(der_end(&d, 0) == -1);
	der_init(&d, buf, sizeof(buf));
	CHECK(der_end(&d, 5) == -1);
}

TEST(timefmt_x509_switches_to_generalized_time_in_2050)
{
	char out[TIMEFMT_X509_LEN];
	size_t len;

	CHECK(timefmt_x509(0, out, &len) == DER_UTC_TIME);
	CHECK_STR(out, "700101000000Z");
	CHECK(len == 13);
	CHECK(timefmt_x509(1700000000, out, &len) == DER_UTC_TIME);
	CHECK_STR(out, "231114221320Z");
	CHECK(timefmt_x509(2524607999LL, out, &len) == DER_UTC_TIME); /* 2049-12-31 23:59:59 */
	CHECK_STR(out, "491231235959Z");
	CHECK(timefmt_x509(2524608000LL, out, &len) == DER_GENERALIZED_TIME);
	CHECK_STR(out, "20500101000000Z");
	CHECK(len == 15);
	CHECK(timefmt_x509(-631152000LL, out, &len) == DER_UTC_TIME); /* 1950-01-01 */
	CHECK_STR(out, "500101000000Z");
	CHECK(timefmt_x509(-631152001LL, out, &len) == 0);
	CHECK(timefmt_x509(253402300799LL, out, &len) == DER_GENERALIZED_TIME);
	CHECK_STR(out, "99991231235959Z");
	CHECK(timefmt_x509(253402300800LL, out, &len) == 0 && len == 0);
}

TEST(der_read_reads_what_the_writer_wrote)
{
	static unsigned char buf[70000], content[65536];
	static const size_t lens[] = { 0, 1, 127, 128, 255, 256, 65535, 65536 };
	struct der d;

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t pos = 0, len = 0;
		unsigned tag = 0;

		der_init(&d, buf, sizeof(buf));
		CHECK(der_tlv(&d, DER_OCTET_STRING, content, lens[i]) == 0);
		CHECK(der_read_header(buf, d.len, &pos, &tag, &len) == 0);
		CHECK(tag == DER_OCTET_STRING && len == lens[i] && pos + len == d.len);
		pos = 0;
		CHECK(der_read_skip(buf, d.len, &pos, DER_OCTET_STRING) == 0 && pos == d.len);
		pos = 0;
		CHECK(der_read_skip(buf, d.len, &pos, DER_SEQUENCE) < 0 && pos == 0); /* another tag */
	}
}

TEST(der_read_walks_nested_elements)
{
	static const unsigned char seq[] = { 0x30, 0x06, 0x02, 0x01, 0x05, 0x04, 0x01, 0xaa, 0x05, 0x00 };
	size_t pos = 0, len, end;
	unsigned tag;

	CHECK(der_read_header(seq, sizeof(seq), &pos, &tag, &len) == 0 && tag == DER_SEQUENCE && len == 6);
	end = pos + len;
	CHECK(der_read_skip(seq, end, &pos, DER_INTEGER) == 0 && pos == 5);
	CHECK(der_read_header(seq, end, &pos, &tag, &len) == 0 && tag == DER_OCTET_STRING && seq[pos] == 0xaa);
	pos += len;
	CHECK(pos == end);
	CHECK(der_read_header(seq, end, &pos, &tag, &len) < 0); /* the NULL after it is outside the bound */
	CHECK(der_read_header(seq, sizeof(seq), &pos, &tag, &len) == 0 && tag == 0x05 && len == 0);
}

TEST(der_read_refuses_what_does_not_fit_or_is_not_der)
{
	static const struct {
		unsigned char b[8];
		size_t n;
	} bad[] = {
		{ { 0x04 }, 1 },                               /* no length byte */
		{ { 0x04, 0x03, 0x00, 0x00 }, 4 },             /* content past the end */
		{ { 0x04, 0x80, 0x00, 0x00 }, 4 },             /* indefinite length */
		{ { 0x04, 0x85, 0, 0, 0, 0, 1, 0 }, 8 },       /* five length bytes */
		{ { 0x04, 0x82, 0x01 }, 3 },                   /* truncated long length */
		{ { 0x04, 0x84, 0x7f, 0xff, 0xff, 0xff }, 6 }, /* a huge length */
		{ { 0x1f, 0x81, 0x01, 0x00 }, 4 },             /* a high tag number */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t pos = 0, len = 99;
		unsigned tag = 99;

		CHECK(der_read_header(bad[i].b, bad[i].n, &pos, &tag, &len) < 0);
		CHECK(pos == 0 && len == 99);
	}
	{
		size_t pos = 3, len;
		unsigned tag;
		static const unsigned char two[] = { 0x05, 0x00 };

		CHECK(der_read_header(two, sizeof(two), &pos, &tag, &len) < 0); /* pos past the end */
	}
}
