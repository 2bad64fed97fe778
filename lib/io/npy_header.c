/* npy_header.c: the .npy header dict as Python's ast.literal_eval reads
 * it, for the values a header can hold (strings, True/False/None,
 * integers, tuples), then numpy's own checks of its keys and their types.
 * Anything else (lists, floats, nested dicts) is refused: numpy would
 * refuse it too, or it is a structured dtype we do not read. */
#include <string.h>

#include "npy_header.h"

enum kind { V_STR, V_BOOL, V_NONE, V_INT, V_TUPLE };

typedef struct {
	enum kind kind;
	int b;                           /* V_BOOL */
	int64_t i;                       /* V_INT; -1 when negative */
	char s[NPY_DESCR_MAX + 1];       /* V_STR, cut at NPY_DESCR_MAX */
	size_t slen;                     /* the whole string's length */
	int n, ints;                     /* V_TUPLE: items, all of them V_INT >= 0 */
	int64_t item[NPY_NDIM_MAX];
} value;

typedef struct {
	const char *p, *end;
	int long_suffix;                 /* versions 1 and 2: 1L is 1 */
	const char *err;
} parser;

static int at(const parser *q, char c)
{
	return q->p < q->end && *q->p == c;
}

/* skip: blanks, newlines, line continuations and comments, which Python
 * allows between the tokens of a bracketed literal */
static void skip(parser *q)
{
	while (q->p < q->end) {
		char c = *q->p;

		if (c == ' ' || c == '\t' || c == '\f' || c == '\n' || c == '\r') {
			q->p++;
		} else if (c == '\\' && q->p + 1 < q->end && q->p[1] == '\n') {
			q->p += 2;
		} else if (c == '#') {
			while (q->p < q->end && *q->p != '\n')
				q->p++;
		} else {
			break;
		}
	}
}

static int fail(parser *q, const char *msg)
{
	if (!q->err)
		q->err = msg;
	return -1;
}

static int is_ident(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || (unsigned char)c >= 0x80;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static void put(value *v, char c)
{
	if (v->slen < NPY_DESCR_MAX)
		v->s[v->slen] = c;
	v->slen++;
}

/* one string literal, appended to v: [uUrR]? then '...' or "..." */
static int string_part(parser *q, value *v)
{
	int raw = 0;
	char quote;

	if (at(q, 'u') || at(q, 'U'))
		q->p++;
	else if (at(q, 'r') || at(q, 'R'))
		raw = 1, q->p++;
	if (!at(q, '\'') && !at(q, '"'))
		return fail(q, "malformed npy header");
	quote = *q->p++;
	for (;;) {
		char c;

		if (q->p == q->end || *q->p == '\n' || *q->p == '\r')
			return fail(q, "malformed npy header (an unterminated string)");
		c = *q->p++;
		if (c == quote)
			return 0;
		if (c != '\\' || raw) {
			put(v, c);
			if (c == '\\' && q->p < q->end)   /* r'\'' keeps both */
				put(v, *q->p++);
			continue;
		}
		if (q->p == q->end)
			return fail(q, "malformed npy header (an unterminated string)");
		c = *q->p++;
		switch (c) {
		case '\n': break;
		case '\\': case '\'': case '"': put(v, c); break;
		case 'n': put(v, '\n'); break;
		case 't': put(v, '\t'); break;
		case 'r': put(v, '\r'); break;
		case 'a': put(v, '\a'); break;
		case 'b': put(v, '\b'); break;
		case 'f': put(v, '\f'); break;
		case 'v': put(v, '\v'); break;
		case 'x': {
			int h = q->end - q->p >= 2 ? hexval(q->p[0]) : -1;
			int l = h >= 0 ? hexval(q->p[1]) : -1;
			if (l < 0)
				return fail(q, "malformed npy header (a bad \\x escape)");
			put(v, (char)(h * 16 + l));
			q->p += 2;
			break;
		}
		default:
			if (c >= '0' && c <= '7') {   /* up to three octal digits */
				int o = c - '0';
				for (int k = 0; k < 2 && q->p < q->end && *q->p >= '0' && *q->p <= '7'; k++)
					o = o * 8 + (*q->p++ - '0');
				put(v, (char)o);
			} else {   /* Python keeps an unknown escape as it is */
				put(v, '\\');
				put(v, c);
			}
		}
	}
}

/* a string: adjacent literals are one string, as in Python */
static int string(parser *q, value *v)
{
	v->kind = V_STR;
	v->slen = 0;
	do {
		if (string_part(q, v) != 0)
			return -1;
		skip(q);
	} while (at(q, '\'') || at(q, '"') ||
		 (q->p + 1 < q->end && *q->p && strchr("uUrR", *q->p) && (q->p[1] == '\'' || q->p[1] == '"')));
	v->s[v->slen < NPY_DESCR_MAX ? v->slen : NPY_DESCR_MAX] = '\0';
	return 0;
}

/* an integer: decimal, 0x, 0o or 0b, with Python's underscores */
static int integer(parser *q, value *v)
{
	int base = 10, digits = 0, prefix = 0, under = 0, neg = 0, nonzero_lead = 0;
	uint64_t x = 0;

	if (at(q, '+') || at(q, '-')) {
		neg = *q->p++ == '-';
		skip(q);
	}
	if (q->p + 1 < q->end && q->p[0] == '0' && strchr("xXoObB", q->p[1])) {
		char b = q->p[1];
		base = b == 'x' || b == 'X' ? 16 : b == 'o' || b == 'O' ? 8 : 2;
		q->p += 2;
		prefix = 1;   /* 0x_1f is allowed */
	}
	nonzero_lead = base == 10 && q->p < q->end && *q->p >= '1' && *q->p <= '9';
	while (q->p < q->end) {
		char c = *q->p;
		int d = hexval(c);

		if (c == '_' && !under && (digits || prefix)) {
			under = 1;
			q->p++;
			continue;
		}
		if (d < 0 || d >= base)
			break;
		if (!nonzero_lead && base == 10 && d != 0)
			return fail(q, "malformed npy header (a decimal with a leading zero)");
		if (x > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
			return fail(q, "bad npy shape");
		x = x * (uint64_t)base + (uint64_t)d;
		digits++;
		under = 0;
		q->p++;
	}
	if (!digits || under)
		return fail(q, "malformed npy header (a bad number)");
	if (q->long_suffix && at(q, 'L'))
		q->p++;
	if (q->p < q->end && (is_ident(*q->p) || *q->p == '.'))
		return fail(q, "malformed npy header (a number that is not an integer)");
	if (x > INT64_MAX)
		return fail(q, "bad npy shape");
	v->kind = V_INT;
	v->i = neg && x ? -1 : (int64_t)x;
	return 0;
}

static int value_parse(parser *q, value *v, int depth);

/* ( ) a tuple, (v) a parenthesised value, (v,) and (v, w...) tuples */
static int paren(parser *q, value *v, int depth)
{
	int comma = 0;
	value item;

	q->p++;
	skip(q);
	v->kind = V_TUPLE;
	v->n = 0;
	v->ints = 1;
	while (!at(q, ')')) {
		if (value_parse(q, &item, depth + 1) != 0)
			return -1;
		skip(q);
		if (v->n == NPY_NDIM_MAX)
			return fail(q, "bad npy shape");
		if (item.kind == V_INT && item.i >= 0)
			v->item[v->n] = item.i;
		else
			v->ints = 0;
		v->n++;
		if (at(q, ',')) {
			comma = 1;
			q->p++;
			skip(q);
		} else if (!at(q, ')')) {
			return fail(q, "malformed npy header");
		}
	}
	q->p++;
	if (v->n == 1 && !comma)
		*v = item;
	return 0;
}

static int value_parse(parser *q, value *v, int depth)
{
	const char *s;

	skip(q);
	s = q->p;
	if (depth > 16)
		return fail(q, "malformed npy header (nested too deeply)");
	if (q->p == q->end)
		return fail(q, "malformed npy header (it ends inside the dict)");
	if (at(q, '\'') || at(q, '"') ||
	    (q->p + 1 < q->end && *q->p && strchr("uUrR", *q->p) && (q->p[1] == '\'' || q->p[1] == '"')))
		return string(q, v);
	if (at(q, '('))
		return paren(q, v, depth);
	if (at(q, '+') || at(q, '-') || (*q->p >= '0' && *q->p <= '9'))
		return integer(q, v);
	while (q->p < q->end && is_ident(*q->p))
		q->p++;
	if (q->p - s == 4 && memcmp(s, "True", 4) == 0) {
		v->kind = V_BOOL, v->b = 1;
	} else if (q->p - s == 5 && memcmp(s, "False", 5) == 0) {
		v->kind = V_BOOL, v->b = 0;
	} else if (q->p - s == 4 && memcmp(s, "None", 4) == 0) {
		v->kind = V_NONE;
	} else {
		q->p = s;
		return fail(q, "malformed npy header");
	}
	return 0;
}

const char *npy_header_parse(const char *text, size_t len, int major, npy_header *h)
{
	parser q = { text, text + len, major < 3, NULL };
	value key, v;
	int have[3] = { 0, 0, 0 };
	static const char *const keys[3] = { "descr", "fortran_order", "shape" };

	if (memchr(text, '\0', len))
		return "malformed npy header (a NUL byte)";
	memset(h, 0, sizeof *h);
	skip(&q);
	if (!at(&q, '{'))
		return "malformed npy header (not a dict)";
	q.p++;
	skip(&q);
	while (!at(&q, '}')) {
		int k;

		if (value_parse(&q, &key, 0) != 0)
			return q.err;
		if (key.kind != V_STR)
			return "malformed npy header (a key that is not a string)";
		skip(&q);
		if (!at(&q, ':'))
			return "malformed npy header";
		q.p++;
		if (value_parse(&q, &v, 0) != 0)
			return q.err;
		for (k = 0; k < 3; k++)
			if (key.slen == strlen(keys[k]) && strcmp(key.s, keys[k]) == 0)
				break;
		if (k == 3)
			return "npy header has a key other than descr, fortran_order and shape";
		have[k] = 1;   /* a repeated key: the last one counts, as in Python */
		if (k == 0) {
			if (v.kind != V_STR)
				return "malformed npy descr";
			if (v.slen > NPY_DESCR_MAX || strlen(v.s) != v.slen)
				return "unsupported npy dtype (a descr too long, or with a NUL)";
			memcpy(h->descr, v.s, v.slen + 1);
		} else if (k == 1) {
			if (v.kind != V_BOOL)
				return "malformed npy fortran_order";
			h->fortran_order = v.b;
		} else {
			if (v.kind != V_TUPLE || !v.ints)
				return "bad npy shape";
			h->ndim = v.n;
			memcpy(h->dim, v.item, (size_t)v.n * sizeof v.item[0]);
		}
		skip(&q);
		if (at(&q, ','))
			q.p++, skip(&q);
		else if (!at(&q, '}'))
			return "malformed npy header";
	}
	q.p++;
	skip(&q);
	if (q.p != q.end)
		return "malformed npy header (something after the dict)";
	for (int k = 0; k < 3; k++)
		if (!have[k]) {
			static const char *const missing[3] = { "npy header has no 'descr'",
				"npy header has no 'fortran_order'", "npy header has no 'shape'" };
			return missing[k];
		}
	return NULL;
}
