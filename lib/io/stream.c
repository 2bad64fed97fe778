/* stream.c: readers and writers of tensor streams (npy), netpbm streams
 * (through libnetpbm's pam API) and IDX files, plain or gzip (source.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netpbm/pam.h>

#include "npy_header.h"
#include "source.h"
#include "stream.h"
#include "terminal.h"
#include "util.h"
#include "zip.h"

enum format { FMT_NONE, FMT_NPY, FMT_PNM, FMT_IDX };

struct input {
	char *name;
	source *src;           /* the bytes, plain or gzip */
	FILE *pnm_fp;          /* stdio view of src, for libnetpbm */
	enum format format;
	unsigned char peek[8]; /* bytes read ahead to detect the format */
	int npeek, peekpos;
	int64_t index;         /* samples returned so far */
	int64_t left;          /* samples left in the current npy/IDX record */
	shape_t shape;
	int64_t size;
	dtype_t dtype;         /* of the current record */
	int itemsize;
	int swap;              /* record byte order differs from ours */
	int is_u8;             /* decided by the first record */
	double maxval;         /* netpbm: current image's maxval */
	struct pam pam;
	tuple *row;
	int row_width;
	unsigned row_depth;
	unsigned char *raw;    /* the prefetched sample's bytes */
	size_t rawcap;
	float *pnmbuf;         /* the prefetched netpbm sample's values, (H,W,C) */
	int64_t pnmcap;        /* floats in pnmbuf */
	char *hdr;             /* the current npy header's text */
	float *ints;           /* input_read_ints' stored values */
	int64_t ints_cap;
	const char *what, *hint; /* input_label's */
	int ready;             /* a sample is prefetched */
	int done;
};

/* ---------- errors ---------- */

/* What input_open and dataset_load are building, for input_abandon. */
static input *opening;
static dataset *loading;
static void *loading_skip;   /* its scratch sample */

static noreturn void bad(const input *in, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	die("%s (%s, sample %" PRId64 ")", msg, in->name, in->index + in->ready);
}

/* ---------- shapes ---------- */

int64_t sample_max(void)
{
	static int64_t max;
	const char *e;
	char *end;
	long long v;

	if (max)
		return max;
	e = getenv("SEGPIPE_SAMPLE_MAX");
	if (!e || !*e)
		return max = SAMPLE_MAX_DEFAULT;
	errno = 0;
	v = strtoll(e, &end, 10);
	if (errno || *end || v < 1 || v > (1LL << 31))
		die("SEGPIPE_SAMPLE_MAX: '%s' is not an integer in 1..2147483648", e);
	return max = v;
}

int64_t shape_size(const shape_t *s)
{
	int64_t n = 1;

	for (int i = 0; i < s->ndim; i++)
		n *= s->dim[i];
	return n;
}

int64_t shape_c(const shape_t *s) { return s->ndim == 3 ? s->dim[0] : 1; }
int64_t shape_h(const shape_t *s) { return s->ndim >= 2 ? s->dim[s->ndim - 2] : 1; }
int64_t shape_w(const shape_t *s) { return s->ndim >= 1 ? s->dim[s->ndim - 1] : 1; }

int shape_equal(const shape_t *a, const shape_t *b)
{
	if (a->ndim != b->ndim)
		return 0;
	for (int i = 0; i < a->ndim; i++)
		if (a->dim[i] != b->dim[i])
			return 0;
	return 1;
}

shape_t shape_chw(int64_t c, int64_t h, int64_t w)
{
	shape_t s;

	if (c == 1) {
		s.ndim = 2; s.dim[0] = h; s.dim[1] = w; s.dim[2] = 0;
	} else {
		s.ndim = 3; s.dim[0] = c; s.dim[1] = h; s.dim[2] = w;
	}
	return s;
}

shape_t shape_like(const shape_t *like, int64_t c, int64_t h, int64_t w)
{
	shape_t s = shape_chw(c, h, w);

	if (c == 1 && like->ndim == 3 && like->dim[0] == 1)
		s = (shape_t){ 3, { 1, h, w } };
	return s;
}

const char *shape_str(const shape_t *s)
{
	static char buf[4][64];
	static int slot;
	char *b = buf[slot++ & 3];
	int len = 0;

	if (s->ndim == 0)
		return "scalar";
	for (int i = 0; i < s->ndim; i++)
		len += snprintf(b + len, 64 - len, "%s%" PRId64, i ? "x" : "", s->dim[i]);
	return b;
}

/* ---------- bytes ---------- */

/* in_read: up to n bytes; returns how many arrived (short only at EOF). */
static size_t in_read(input *in, void *buf, size_t n)
{
	unsigned char *p = buf;
	size_t got = 0;
	const char *err;

	while (got < n && in->peekpos < in->npeek)
		p[got++] = in->peek[in->peekpos++];
	if (got < n) {
		got += source_read(in->src, p + got, n - got, &err);
		if (err)
			bad(in, "%s", err);
	}
	return got;
}

static void in_read_exact(input *in, void *buf, size_t n, const char *what)
{
	size_t got = in_read(in, buf, n);

	if (got != n)
		bad(in, "truncated %s: %zu of %zu bytes", what, got, n);
}

/* in_peek: make the next n bytes (fewer at EOF) readable again from the peek
 * buffer, keeping any bytes already peeked; returns how many are there. */
static int in_peek(input *in, int n)
{
	int have = in->npeek - in->peekpos;
	size_t got;

	memmove(in->peek, in->peek + in->peekpos, (size_t)have);
	in->npeek = in->peekpos = 0;
	got = have < n ? in_read(in, in->peek + have, (size_t)(n - have)) : 0;
	in->npeek = have + (int)got;
	return in->npeek;
}

/* The stdio view of the byte source that libnetpbm reads. */
static ssize_t cookie_read(void *c, char *buf, size_t n)
{
	return (ssize_t)in_read(c, buf, n);
}

/* ---------- dtypes ---------- */

static int dtype_size(dtype_t t)
{
	static const int size[] = { 1, 1, 2, 2, 4, 4, 8, 8, 4, 8, 1 };
	return size[t];
}

static int parse_descr(const char *d, dtype_t *t, int *swap)
{
	static const struct { const char *name; dtype_t t; } names[] = {
		{ "u1", DT_U8 }, { "i1", DT_I8 }, { "b1", DT_BOOL },
		{ "u2", DT_U16 }, { "i2", DT_I16 }, { "u4", DT_U32 }, { "i4", DT_I32 },
		{ "u8", DT_U64 }, { "i8", DT_I64 }, { "f4", DT_F32 }, { "f8", DT_F64 },
	};
	char order = d[0];

	if (order != '<' && order != '>' && order != '|' && order != '=')
		return -1;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(d + 1, names[i].name) == 0) {
			*t = names[i].t;
			*swap = order == '>' && dtype_size(*t) > 1;
			return 0;
		}
	return -1;
}

static void byteswap(unsigned char *p, int64_t n, int size)
{
	for (int64_t i = 0; i < n; i++, p += size)
		for (int a = 0, b = size - 1; a < b; a++, b--) {
			unsigned char t = p[a];
			p[a] = p[b];
			p[b] = t;
		}
}

static void convert(const unsigned char *raw, dtype_t t, int64_t n, float *out,
		    float scale)
{
	int64_t i;

	switch (t) {
	case DT_U8:
	case DT_BOOL:
		for (i = 0; i < n; i++) out[i] = raw[i] * scale;
		return;
	case DT_I8:
		for (i = 0; i < n; i++) out[i] = (int8_t)raw[i];
		return;
#define CONV(T, CT) case T: for (i = 0; i < n; i++) { CT v; \
		memcpy(&v, raw + i * sizeof v, sizeof v); out[i] = (float)v; } return;
	CONV(DT_U16, uint16_t)
	CONV(DT_I16, int16_t)
	CONV(DT_U32, uint32_t)
	CONV(DT_I32, int32_t)
	CONV(DT_U64, uint64_t)
	CONV(DT_I64, int64_t)
	CONV(DT_F64, double)
#undef CONV
	case DT_F32:
		memcpy(out, raw, (size_t)n * 4);
		return;
	}
}

/* ---------- npy headers ---------- */

/* read_npy_header: after the magic; sets dtype, shape, record count. */
static void read_npy_header(input *in)
{
	unsigned char ver[2], lenbuf[4];
	uint32_t hlen;
	char *hdr;
	const char *err;
	npy_header h;
	const int64_t *dims;
	int64_t count;
	int nd;
	shape_t s;

	in_read_exact(in, ver, 2, "npy header");
	if (ver[0] < 1 || ver[0] > 3)
		bad(in, "npy format version %d.%d is not supported (1.0 to 3.0)", ver[0], ver[1]);
	if (ver[0] == 1) {
		in_read_exact(in, lenbuf, 2, "npy header");
		hlen = lenbuf[0] | (uint32_t)lenbuf[1] << 8;
	} else {
		in_read_exact(in, lenbuf, 4, "npy header");
		hlen = lenbuf[0] | (uint32_t)lenbuf[1] << 8 | (uint32_t)lenbuf[2] << 16 |
		       (uint32_t)lenbuf[3] << 24;
	}
	if (hlen > 65536)
		bad(in, "npy header too long (%u bytes)", hlen);
	hdr = in->hdr = xrealloc(in->hdr, hlen + 1);
	in_read_exact(in, hdr, hlen, "npy header");
	hdr[hlen] = '\0';

	if ((err = npy_header_parse(hdr, hlen, ver[0], &h)) != NULL)
		bad(in, "%s", err);
	if (parse_descr(h.descr, &in->dtype, &in->swap) != 0)
		bad(in, "unsupported npy dtype '%s'", h.descr);
	in->itemsize = dtype_size(in->dtype);
	if (h.fortran_order)
		bad(in, "npy array in Fortran order is not supported");
	nd = h.ndim;
	dims = h.dim;
	if (nd == 0)
		bad(in, "npy array has no sample axis (0-d array)");
	if (nd > 4)
		bad(in, "npy sample has %d dimensions; at most 3 are supported", nd - 1);
	count = dims[0];
	s.ndim = nd - 1;
	s.dim[0] = s.dim[1] = s.dim[2] = 0;
	for (int i = 1; i < nd; i++)
		s.dim[i - 1] = dims[i];
	{
		int64_t size = 1;
		for (int i = 0; i < s.ndim; i++) {
			if (s.dim[i] == 0 || size > SAMPLE_MAX / s.dim[i])
				bad(in, "npy sample shape %s is empty or too large", shape_str(&s));
			size *= s.dim[i];
		}
	}
	if (in->shape.ndim >= 0 && !shape_equal(&s, &in->shape))
		bad(in, "sample shape changes from %s to %s", shape_str(&in->shape), shape_str(&s));
	if (in->shape.ndim < 0) {
		in->is_u8 = in->dtype == DT_U8;
		in->maxval = 255;
	}
	in->shape = s;
	in->size = shape_size(&s);
	in->left = count;
}

/* ---------- IDX ---------- */

static void read_idx_header(input *in)
{
	static const struct { int code; dtype_t t; } codes[] = {
		{ 0x08, DT_U8 }, { 0x09, DT_I8 }, { 0x0B, DT_I16 },
		{ 0x0C, DT_I32 }, { 0x0D, DT_F32 }, { 0x0E, DT_F64 },
	};
	int code = in->peek[2], nd = in->peek[3], found = 0;
	unsigned char b[4];
	int64_t dims[4], size = 1;

	for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
		if (codes[i].code == code) {
			in->dtype = codes[i].t;
			found = 1;
		}
	if (!found)
		bad(in, "unknown IDX data type 0x%02x", code);
	if (nd < 1 || nd > 4)
		bad(in, "IDX file with %d dimensions; 1 to 4 are supported", nd);
	for (int i = 0; i < nd; i++) {
		in_read_exact(in, b, 4, "IDX header");
		dims[i] = (int64_t)b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3];
	}
	in->shape.ndim = nd - 1;
	in->shape.dim[0] = in->shape.dim[1] = in->shape.dim[2] = 0;
	for (int i = 1; i < nd; i++) {
		in->shape.dim[i - 1] = dims[i];
		if (dims[i] == 0 || size > SAMPLE_MAX / dims[i])
			bad(in, "IDX sample shape is empty or too large");
		size *= dims[i];
	}
	in->size = size;
	in->left = dims[0];
	in->itemsize = dtype_size(in->dtype);
	in->swap = in->itemsize > 1;   /* IDX is big-endian */
	in->is_u8 = in->dtype == DT_U8;
	in->maxval = 255;
}

/* ---------- netpbm ---------- */

/* PAM_LEN without its member access through a null
 * pointer (undefined behaviour that UBSan reports) */
#define PAM_LEN (offsetof(struct pam, tuple_type) + sizeof(((struct pam *)0)->tuple_type))

/* Values in one netpbm row, at most: libnetpbm's row buffer (16 bytes a
 * value) is allocated from the header alone, before any data arrives. */
#define PNM_ROW_MAX ((int64_t)1 << 20)

static char pnm_msg[256];

static void pnm_error_capture(const char *msg)
{
	snprintf(pnm_msg, sizeof pnm_msg, "%s", msg);
	pnm_msg[strcspn(pnm_msg, "\n")] = '\0';
}

static void pnm_quiet(const char *msg)
{
	(void)msg;
}

/* read_pnm_image: one image into in->pnmbuf (raw values, rows of pixels
 * as libnetpbm gives them); 0 at the end. The buffer grows as rows arrive,
 * so a header alone never makes us allocate the image. */
static int read_pnm_image(input *in)
{
	jmp_buf jb, *old;
	shape_t s;
	int eof = 0;
	int64_t rowlen;

	pm_setusererrormsgfn(pnm_error_capture);
	pm_setusermessagefn(pnm_quiet);
	pm_setjmpbufsave(&jb, &old);
	if (setjmp(jb)) {
		pm_setjmpbuf(old);
		bad(in, "bad netpbm image: %s", pnm_msg);
	}
	if (in->index + in->ready > 0) {
		pnm_nextimage(in->pnm_fp, &eof);
		if (eof) {
			pm_setjmpbuf(old);
			return 0;
		}
	}
	pnm_readpaminit(in->pnm_fp, &in->pam, PAM_LEN);
	pm_setjmpbuf(old);   /* our own errors from here on leave libnetpbm's alone */
	if (in->pam.width <= 0 || in->pam.height <= 0 || in->pam.depth <= 0 ||
	    (int64_t)in->pam.width * in->pam.height > SAMPLE_MAX / in->pam.depth)
		bad(in, "netpbm image of %dx%dx%d is empty or too large",
		    in->pam.width, in->pam.height, in->pam.depth);
	rowlen = (int64_t)in->pam.width * in->pam.depth;
	if (rowlen > PNM_ROW_MAX)
		bad(in, "netpbm image rows of %" PRId64 " values are too long (at most %" PRId64 ")",
		    rowlen, PNM_ROW_MAX);
	if (in->pam.maxval == 0)
		bad(in, "netpbm image with maxval 0");
	s = shape_chw(in->pam.depth, in->pam.height, in->pam.width);
	if (in->shape.ndim >= 0 && !shape_equal(&s, &in->shape))
		bad(in, "sample shape changes from %s to %s", shape_str(&in->shape), shape_str(&s));
	if (in->shape.ndim < 0) {
		in->shape = s;
		in->size = shape_size(&s);
		in->is_u8 = in->pam.maxval == 255;
	}
	pm_setjmpbuf(&jb);
	if (!in->row || in->row_width != in->pam.width || in->row_depth != in->pam.depth) {
		if (in->row)
			pnm_freepamrow(in->row);
		in->row = pnm_allocpamrow(&in->pam);
		in->row_width = in->pam.width;
		in->row_depth = in->pam.depth;
	}
	in->maxval = (double)in->pam.maxval;
	in->dtype = in->pam.maxval <= 255 ? DT_U8 : DT_U16;
	for (int y = 0; y < in->pam.height; y++) {
		float *p;

		if ((y + 1) * rowlen > in->pnmcap) {
			int64_t cap = 2 * in->pnmcap > in->size ? in->size : 2 * in->pnmcap;
			in->pnmcap = cap > (y + 1) * rowlen ? cap : (y + 1) * rowlen;
			in->pnmbuf = xrealloc(in->pnmbuf, (size_t)in->pnmcap * sizeof(float));
		}
		pnm_readpamrow(&in->pam, in->row);
		p = in->pnmbuf + y * rowlen;
		for (int x = 0; x < in->pam.width; x++)
			for (unsigned c = 0; c < in->pam.depth; c++)
				*p++ = (float)in->row[x][c];
	}
	pm_setjmpbuf(old);
	return 1;
}

/* ---------- the reader ---------- */

/* next_npy_record: at a record boundary; 0 at a clean end of stream. */
static int next_record(input *in)
{
	int n;

	while (in->left == 0) {
		if (in->format == FMT_IDX) {
			if (in_peek(in, 1) != 0)
				bad(in, "junk after the IDX data");
			return 0;
		}
		n = in_peek(in, 6);
		if (n == 0)
			return 0;
		if (n < 6 || memcmp(in->peek, "\x93NUMPY", 6) != 0)
			bad(in, "junk after the last array");
		in->npeek = in->peekpos = 0;
		read_npy_header(in);
	}
	return 1;
}

/* prefetch: read the next sample's bytes, growing the buffer as they come. */
static void prefetch(input *in)
{
	size_t need, got = 0;

	in->ready = 0;
	if (in->done)
		return;
	if (in->format == FMT_PNM) {
		in->ready = read_pnm_image(in);
		in->done = !in->ready;
		return;
	}
	if (!next_record(in)) {
		in->done = 1;
		return;
	}
	need = (size_t)in->size * in->itemsize;
	while (got < need) {
		size_t chunk = need - got < (1u << 20) ? need - got : (1u << 20);
		size_t r;

		if (in->rawcap < got + chunk) {
			in->rawcap = got + chunk;
			in->raw = xrealloc(in->raw, in->rawcap);
		}
		r = in_read(in, in->raw + got, chunk);
		got += r;
		if (r < chunk)
			bad(in, "truncated data: %zu of %zu bytes", got, need);
	}
	if (in->swap)
		byteswap(in->raw, in->size, in->itemsize);
	in->left--;
	in->ready = 1;
}

/* open_npz: path is FILE.npz:NAME (a member of an archive) when no file
 * has that name but FILE does; member gets NAME then. fd or -1. */
static int open_path(const char *path, char **member)
{
	int fd = open(path, O_RDONLY), e = errno;
	const char *colon = strrchr(path, ':');

	*member = NULL;
	if (fd < 0 && e == ENOENT && colon && colon > path && colon[1]) {
		char *file = strndup(path, (size_t)(colon - path));
		if ((fd = open(file, O_RDONLY)) >= 0)
			*member = strdup(colon + 1);
		free(file);
	}
	errno = e;
	return fd;
}

/* open_source: the bytes of fd: a zip archive's member (an .npz: the
 * member named, or the first), else the file as it is, plain or gzip */
static source *open_source(input *in, int fd, char *member, int is_stdin)
{
	unsigned char magic[4];
	ssize_t r = is_stdin ? -1 : pread(fd, magic, 4, 0);
	zip_member m;
	const char *err;

	if (member || (r == 4 && zip_is_archive(magic, 4))) {
		err = zip_find(fd, member, &m);
		free(member);
		if (err) {
			close(fd);
			bad(in, "%s", err);
		}
		return source_open_member(fd, (long long)m.offset, m.csize, m.usize, m.deflated, m.crc);
	}
	return source_open(fd);
}

/* unknown_format: what the first bytes are not, and what is read */
static const char *unknown_format(const unsigned char *p, int n)
{
	static const char formats[] = "segpipe reads tensor streams (.npy), .npz archives "
		"by name, netpbm (PBM, PGM, PPM, PAM) and IDX files, plain or gzip";
	static char msg[256];

	if (n >= 4 && !memcmp(p, "\x89PNG", 4))
		snprintf(msg, sizeof msg, "a PNG image: convert it with pngtopnm (see segpipe(7)); %s",
			 formats);
	else if (n >= 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff)
		snprintf(msg, sizeof msg, "a JPEG image: convert it with jpegtopnm (see segpipe(7)); %s",
			 formats);
	else if (zip_is_archive(p, n))
		snprintf(msg, sizeof msg, "a zip archive (.npz) on standard input: give its "
			 "file name, FILE.npz or FILE.npz:NAME");
	else
		snprintf(msg, sizeof msg, "not a tensor stream, netpbm or IDX file (%s)", formats);
	return msg;
}

input *input_open(const char *path)
{
	input *in = xcalloc(1, sizeof *in);
	char *member = NULL;
	int fd;

	opening = in;
	if (!path || strcmp(path, "-") == 0) {
		in->name = strdup("stdin");
		fd = dup(0);
	} else {
		in->name = strdup(path);
		fd = open_path(path, &member);
	}
	if (fd < 0)
		die("cannot open %s:", in->name);
	in->shape.ndim = -1;
	in->src = open_source(in, fd, member, !path || strcmp(path, "-") == 0);

	if (in_peek(in, 4) < 2)
		bad(in, "empty or unrecognised input");
	if (in->peek[0] == 0x93 && in->peek[1] == 'N') {
		in->format = FMT_NPY;
	} else if (in->peek[0] == 'P' && in->peek[1] >= '1' && in->peek[1] <= '7') {
		cookie_io_functions_t io = { .read = cookie_read };
		in->format = FMT_PNM;
		in->pnm_fp = fopencookie(in, "r", io);
		if (!in->pnm_fp)
			die("cannot open %s:", in->name);
	} else if (in->npeek == 4 && in->peek[0] == 0 && in->peek[1] == 0) {
		in->format = FMT_IDX;
		in->npeek = in->peekpos = 0;
		read_idx_header(in);
	} else {
		bad(in, "%s", unknown_format(in->peek, in->npeek));
	}
	prefetch(in);
	if (in->shape.ndim < 0)
		bad(in, "no array in the stream");
	opening = NULL;
	return in;
}

/* stored_is_u8: the sample just read stores uint8 0..255 (npy/IDX uint8,
 * netpbm maxval 255) */
static int stored_is_u8(const input *in)
{
	return in->format == FMT_PNM ? in->maxval == 255 : in->dtype == DT_U8;
}

/* intensity_scale: what turns the stored values of the sample just read
 * into intensities */
static float intensity_scale(const input *in)
{
	if (in->format == FMT_PNM)
		return (float)(1.0 / in->maxval);
	return in->dtype == DT_U8 ? 1.0f / 255 : 1.0f;
}

/* ---------- the one reading of masks, class maps and labels ---------- */

/* How a sample's values were stored, for the role checks. */
struct stored {
	int u8;             /* uint8 0..255 (npy/IDX uint8, netpbm maxval 255) */
	double maxval;      /* integers: the largest (netpbm maxval, 255 for
			       uint8, 1 for other integer dtypes); floats: 0 */
	float scale;        /* stored x scale = intensity */
	const char *what, *hint, *name;
	int64_t sample;
};

static noreturn void role_die(const struct stored *st, const char *what, double v, int64_t k,
			      const char *is_not, const char *hint)
{
	char h[384] = "";

	if (hint || st->hint)
		snprintf(h, sizeof h, " (%s%s%s)", hint ? hint : "", hint && st->hint ? "; " : "",
			 st->hint ? st->hint : "");
	die("%s value %g at element %" PRId64 " is not %s%s (%s, sample %" PRId64 ")",
	    st->what ? st->what : what, v, k, is_not, h, st->name, st->sample);
}

/* apply_role: v (n) the stored values of one sample, made what role reads,
 * or a one-line error naming the value, the stream and the sample */
static void apply_role(float *v, int64_t n, enum role role, const struct stored *st)
{
	float scale = st->scale;
	int64_t i;

	switch (role) {
	case ROLE_RAW:
	case ROLE_KEEP:
		return;
	case ROLE_IMAGE:
		if (st->u8) {
			float max = 0;
			for (i = 0; i < n; i++)
				max = v[i] > max ? v[i] : max;
			if (max == 1) {
				char h[384] = "";
				if (st->hint)
					snprintf(h, sizeof h, "; %s", st->hint);
				die("%s is a uint8 mask (values 0 and 1 only), not an image: read as "
				    "intensities it would be 0 and 1/255%s (%s, sample %" PRId64 ")",
				    st->what ? st->what : "the sample", h, st->name, st->sample);
			}
		}
		/* fall through */
	case ROLE_INTENSITY:
		if (scale != 1)
			for (i = 0; i < n; i++)
				v[i] *= scale;
		return;
	case ROLE_UNIT:
		for (i = 0; i < n; i++) {
			float a = v[i] * scale;
			if (!(a >= 0 && a <= 1))
				role_die(st, "intensity", v[i], i, "in 0..1",
					 "float intensities are 0..1: divide a 0..255 image by 255, "
					 "or clip(1) it");
			v[i] = a;
		}
		return;
	case ROLE_MASK:
		for (i = 0; i < n; i++) {
			float a = st->u8 ? v[i] != 0 : v[i] * scale;
			if (!(a >= 0 && a <= 1))
				role_die(st, "mask", v[i], i, "in 0..1",
					 "uint8 masks: nonzero is 1; others: 0..1");
			v[i] = a;
		}
		return;
	case ROLE_BINARY:
	case ROLE_PRED:
		for (i = 0; i < n; i++) {
			float a = v[i];
			if (role == ROLE_PRED && st->maxval == 0 ? !(a >= 0 && a <= 1)
			    : !(a == 0 || a == 1 || a == st->maxval))
				role_die(st, role == ROLE_PRED ? "prediction" : "mask", a, i,
					 role == ROLE_PRED ? "a probability in 0..1 or a mask value 0 or 1 "
					 "(uint8: 0 or 255)" : "a mask value 0 or 1 (uint8: 0 or 255)", NULL);
			if (role == ROLE_BINARY)
				v[i] = a != 0;
		}
		return;
	}
}

/* to_ints: v (n) stored values as integers 0..max into out (n); dies on
 * one that is not exactly that (a fraction, NaN, out of range) */
static void to_ints(int32_t *out, const float *v, int64_t n, int32_t max, const char *what,
		    const char *name, int64_t sample)
{
	for (int64_t i = 0; i < n; i++) {
		float a = v[i];

		if (!(a >= 0 && a <= (float)max) || a != (float)(int32_t)a)
			die("%s value %g at element %" PRId64 " is not an integer in 0..%" PRId32
			    " (%s, sample %" PRId64 ")", what, (double)a, i, max, name, sample);
		out[i] = (int32_t)a;
	}
}

int input_read(input *in, float *out, enum role role)
{
	if (!in->ready)
		prefetch(in);
	if (!in->ready)
		return 0;
	if (role == ROLE_KEEP && !stored_is_u8(in))
		die("a uint8 stream changes dtype; it cannot be passed on as uint8 (%s, sample %"
		    PRId64 ")", in->name, in->index);
	if (in->format == FMT_PNM) {
		int64_t C = shape_c(&in->shape), P = in->size / C;
		for (int64_t c = 0; c < C; c++)   /* (H,W,C) to (C,H,W) */
			for (int64_t i = 0; i < P; i++)
				out[c * P + i] = in->pnmbuf[i * C + c];
	} else {
		convert(in->raw, in->dtype, in->size, out, 1.0f);
	}
	{
		struct stored st = {
			stored_is_u8(in),
			in->format == FMT_PNM ? in->maxval : in->dtype == DT_U8 ? 255
				: in->dtype == DT_F32 || in->dtype == DT_F64 ? 0 : 1,
			intensity_scale(in), in->what, in->hint, in->name, in->index
		};
		apply_role(out, in->size, role, &st);
	}
	in->index++;
	in->ready = 0;   /* the next sample is read when asked for */
	return 1;
}

int input_read_ints(input *in, int32_t *out, int32_t max, const char *what)
{
	if (in->ints_cap < in->size) {
		in->ints = xrealloc(in->ints, (size_t)in->size * sizeof *in->ints);
		in->ints_cap = in->size;
	}
	if (!input_read(in, in->ints, ROLE_RAW))
		return 0;
	to_ints(out, in->ints, in->size, max, what, in->name, in->index - 1);
	return 1;
}

/* input_read_u8: raw bytes of a u8 stream (dataset loading). */
static int input_read_u8(input *in, uint8_t *out)
{
	if (!in->ready)
		prefetch(in);
	if (!in->ready)
		return 0;
	if (in->format == FMT_PNM) {
		int64_t C = shape_c(&in->shape), P = in->size / C;
		if (in->maxval != 255)
			bad(in, "maxval changes from 255 to %.0f within the stream", in->maxval);
		for (int64_t c = 0; c < C; c++)
			for (int64_t i = 0; i < P; i++)
				out[c * P + i] = (uint8_t)in->pnmbuf[i * C + c];
	} else if (in->dtype == DT_U8) {
		memcpy(out, in->raw, (size_t)in->size);
	} else {
		bad(in, "dtype changes within a uint8 stream");
	}
	in->index++;
	in->ready = 0;
	return 1;
}

void input_label(input *in, const char *what, const char *hint)
{
	in->what = what;
	in->hint = hint;
}

const shape_t *input_shape(const input *in) { return &in->shape; }
int64_t input_size(const input *in) { return in->size; }
const char *input_name(const input *in) { return in->name; }
int64_t input_index(const input *in) { return in->index; }
int input_is_u8(const input *in) { return in->is_u8; }

enum role input_keep_role(const input *in)
{
	return in->is_u8 ? ROLE_KEEP : ROLE_INTENSITY;
}

dtype_t input_keep_dtype(const input *in)
{
	return in->is_u8 ? DT_U8 : DT_F32;
}

void shape_require_images(const shape_t *s, const char *name)
{
	if (s->ndim == 1)   /* numpy's common slip: np.save of one (H,W) image */
		die("samples of shape %s are not images (%s): one image saved as (H,%" PRId64
		    ") is H samples of %" PRId64 " values; save it as (1,H,%" PRId64 "), e.g. "
		    "np.save(f, image[None])", shape_str(s), name, s->dim[0], s->dim[0], s->dim[0]);
	if (s->ndim < 2)
		die("samples of shape %s are not images, (H,W) or (C,H,W) (%s)", shape_str(s), name);
}

void input_require_images(const input *in)
{
	shape_require_images(&in->shape, in->name);
}

void input_close(input *in)
{
	if (!in)
		return;
	if (in->pnm_fp)
		fclose(in->pnm_fp);
	if (in->row)
		pnm_freepamrow(in->row);
	source_close(in->src);
	free(in->raw);
	free(in->pnmbuf);
	free(in->hdr);
	free(in->ints);
	free(in->name);
	free(in);
}

void input_abandon(void)
{
	input_close(opening);
	dataset_free(loading);
	free(loading_skip);
	opening = NULL;
	loading = NULL;
	loading_skip = NULL;
}

/* ---------- datasets ---------- */

/* load: the stream of path read through; the samples keep lists (all
 * when keep is NULL) stored, the others read into a scratch sample and
 * dropped, so that every sample passes the same checks either way */
static dataset *load(const char *path, const int64_t *keep, int64_t nkeep)
{
	input *in = input_open(path);
	dataset *d = xcalloc(1, sizeof *d);
	int64_t cap = 0, j = 0;
	size_t esz;
	void *skip;

	opening = in;
	loading = d;

	d->shape = in->shape;
	d->size = in->size;
	d->is_u8 = in->is_u8;
	d->name = strdup(in->name);
	esz = d->is_u8 ? 1 : sizeof(float);
	/* a sample dropped is read into skip (dataset_load drops none) */
	skip = NULL;
	if (keep) {
		skip = loading_skip = xmalloc_array((size_t)d->size, esz);
		for (int64_t k = 1; k < nkeep; k++)
			if (keep[k] <= keep[k - 1])
				die("dataset_load_keep: the samples to keep are not ascending (%s)",
				    d->name);
		d->kept = xmalloc_array((size_t)(nkeep ? nkeep : 1), sizeof *d->kept);
		memcpy(d->kept, keep, (size_t)nkeep * sizeof *keep);
	}
	for (;;) {
		int wanted = !keep || (j < nkeep && keep[j] == d->n);
		void *to = skip;
		int got;

		if (wanted && d->nkept == cap) {
			/* room for what has arrived, doubled; at first about 4 MB
			 * (at least one sample), whatever the header promises */
			int64_t first = ((int64_t)1 << 22) / ((int64_t)esz * d->size);
			cap = cap ? cap * 2 : first < 1 ? 1 : first > 64 ? 64 : first;
			if (d->is_u8) {
				d->u8 = xrealloc(d->u8, (size_t)cap * d->size * esz);
			} else {
				d->f32 = xrealloc(d->f32, (size_t)cap * d->size * esz);
				d->scale = xrealloc(d->scale, (size_t)cap * sizeof *d->scale);
			}
		}
		if (wanted)
			to = d->is_u8 ? (void *)(d->u8 + d->nkept * d->size)
				      : (void *)(d->f32 + d->nkept * d->size);
		got = d->is_u8 ? input_read_u8(in, to) : input_read(in, to, ROLE_RAW);
		if (!got)
			break;
		if (wanted) {
			if (!d->is_u8)
				d->scale[d->nkept] = intensity_scale(in);
			d->nkept++;
			j += keep != NULL;
		}
		d->n++;
	}
	if (keep && j < nkeep)
		die("sample %" PRId64 " is wanted but the stream has %" PRId64 " (%s)", keep[j], d->n,
		    d->name);
	free(skip);
	input_close(in);
	opening = NULL;
	loading = NULL;
	loading_skip = NULL;
	return d;
}

dataset *dataset_load(const char *path)
{
	return load(path, NULL, 0);
}

dataset *dataset_load_keep(const char *path, const int64_t *keep, int64_t nkeep)
{
	return load(path, keep, nkeep);
}

dataset *dataset_load_range(const char *path, int64_t lo, int64_t hi)
{
	int64_t *keep, n = hi > lo ? hi - lo : 0;
	dataset *d;

	if (lo < 0)
		die("dataset_load_range: sample %" PRId64 " is before the first", lo);
	keep = xmalloc_array((size_t)(n ? n : 1), sizeof *keep);
	for (int64_t i = 0; i < n; i++)
		keep[i] = lo + i;
	d = load(path, keep, n);
	free(keep);
	return d;
}

int64_t dataset_count(const char *path)
{
	dataset *d = load(path, (const int64_t[1]){ 0 }, 0);
	int64_t n = d->n;

	dataset_free(d);
	return n;
}

/* slot: where sample i of the stream is in memory */
static int64_t slot(const dataset *d, int64_t i)
{
	int64_t lo = 0, hi = d->nkept;

	if (!d->kept)
		return i;
	while (lo < hi) {
		int64_t mid = lo + (hi - lo) / 2;
		if (d->kept[mid] < i)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == d->nkept || d->kept[lo] != i)
		die("sample %" PRId64 " of %s is not in memory here (%" PRId64 " of %" PRId64
		    " kept)", i, d->name, d->nkept, d->n);
	return lo;
}

void dataset_label(dataset *d, const char *what, const char *hint)
{
	d->what = what;
	d->hint = hint;
}

void dataset_get(const dataset *d, int64_t i, float *out, enum role role)
{
	/* as stored: uint8, or floats with a scale (netpbm: 1/maxval) */
	struct stored st = { d->is_u8, 255, 1.0f / 255, d->what, d->hint, d->name, i };
	int64_t at = slot(d, i);

	if (d->is_u8) {
		const uint8_t *p = d->u8 + at * d->size;
		for (int64_t k = 0; k < d->size; k++)
			out[k] = p[k];
	} else {
		memcpy(out, d->f32 + at * d->size, (size_t)d->size * sizeof *out);
		st.scale = d->scale[at];
		st.maxval = st.scale == 1 ? 0 : rint(1 / st.scale);
	}
	apply_role(out, d->size, role, &st);
}

void dataset_get_ints(const dataset *d, int64_t i, int32_t *out, int32_t max, const char *what)
{
	int64_t at = slot(d, i);

	if (d->is_u8) {
		const uint8_t *p = d->u8 + at * d->size;
		for (int64_t k = 0; k < d->size; k++) {
			if (p[k] > max)
				die("%s value %d at element %" PRId64 " is not an integer in 0..%" PRId32
				    " (%s, sample %" PRId64 ")", what, p[k], k, max, d->name, i);
			out[k] = p[k];
		}
	} else {
		to_ints(out, d->f32 + at * d->size, d->size, max, what, d->name, i);
	}
}

void dataset_free(dataset *d)
{
	if (!d)
		return;
	free(d->u8);
	free(d->f32);
	free(d->scale);
	free(d->kept);
	free(d->name);
	free(d);
}

/* ---------- writers ---------- */

#define RECORD_BYTES (1 << 22)   /* a record holds about this much data */

struct output {
	FILE *f;
	int pgm;
	dtype_t dt;
	shape_t shape;
	int64_t size;
	int64_t per_record, nbuf;
	int64_t written;    /* samples so far */
	unsigned char *buf;
	struct pam pam;
	unsigned char *row; /* one PGM/PAM row of bytes */
	const char *name;   /* for errors: a file written by name; NULL for stdout */
	int whole;          /* a regular file: one record, its header patched at close */
	off_t start;        /* where that record begins */
};

/* check: a write error names the file, if it has one */
static void check(FILE *f, const char *name)
{
	if (ferror(f) || fflush(f) != 0) {
		if (errno == EPIPE)
			exit(1);
		if (name)
			die("cannot write %s:", name);
		die("write error:");
	}
}

/* check_errno: a failed seek */
static noreturn void check_errno(const char *name)
{
	if (name)
		die("cannot write %s:", name);
	die("write error:");
}

void output_check(FILE *f)
{
	check(f, NULL);
}

void output_name(output *o, const char *name)
{
	o->name = name;
}

static void write_header(output *o, int64_t n, int room);
static int whole_file(FILE *f, off_t *start);

output *output_open(FILE *f, int pgm, dtype_t dt, const shape_t *shape)
{
	output *o = xcalloc(1, sizeof *o);
	int64_t bytes;

	if (dt != DT_U8 && dt != DT_F32)
		die("internal error: output dtype");
	binary_out_check(f, pgm ? "an image stream" : "a tensor stream");
	o->f = f;
	o->pgm = pgm;
	o->dt = dt;
	o->shape = *shape;
	o->size = shape_size(shape);
	bytes = o->size * dtype_size(dt);
	o->per_record = RECORD_BYTES / bytes;
	if (o->per_record < 1)
		o->per_record = 1;
	if (pgm) {
		memset(&o->pam, 0, sizeof o->pam);
		o->pam.size = sizeof o->pam;
		o->pam.len = PAM_LEN;
		o->pam.file = f;
		o->pam.width = (int)shape_w(shape);
		o->pam.height = (int)shape_h(shape);
		o->pam.depth = (unsigned)shape_c(shape);
		o->pam.maxval = 255;
		o->pam.plainformat = 0;
		o->pam.format = o->pam.depth == 1 ? RPGM_FORMAT : PAM_FORMAT;
		o->pam.bytes_per_sample = 1;
		strcpy(o->pam.tuple_type, o->pam.depth == 1 ? PAM_PGM_TUPLETYPE : "GRAYSCALE");
		o->row = xmalloc_array((size_t)o->pam.width, o->pam.depth);
	} else {
		o->buf = xmalloc_array((size_t)o->per_record, (size_t)bytes);
		/* a regular file gets one record, which np.load reads whole: its
		 * header first with room for the count, written again at close */
		if ((o->whole = whole_file(f, &o->start)))
			write_header(o, 0, 1);
	}
	return o;
}

/* header_dict: the npy header dictionary of a record of n samples into
 * hdr (at least 160 bytes); returns its length */
static int header_dict(const output *o, int64_t n, char *hdr)
{
	char dims[96];
	int len;

	len = snprintf(dims, sizeof dims, "%" PRId64 ",", n);
	for (int i = 0; i < o->shape.ndim; i++)
		len += snprintf(dims + len, sizeof dims - len, "%s%" PRId64,
				i ? "," : " ", o->shape.dim[i]);
	return snprintf(hdr, 160, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }",
			o->dt == DT_U8 ? "|u1" : "<f4", dims);
}

/* write_header: the npy header of a record of n samples, padded with
 * spaces to a multiple of 64 bytes, newline last (numpy's way). With room
 * set, as long as the largest count (19 digits) makes it, so a header
 * written first with n = 0 can be written again over itself at the end. */
static void write_header(output *o, int64_t n, int room)
{
	char hdr[256];
	int hlen = header_dict(o, n, hdr + 10);
	int total = 10 + (room ? header_dict(o, INT64_MAX, hdr + 10 + hlen + 1) : hlen) + 1;

	total = (total + 63) / 64 * 64;
	while (10 + hlen + 1 < total)
		hdr[10 + hlen++] = ' ';
	hdr[10 + hlen++] = '\n';
	memcpy(hdr, "\x93NUMPY\x01\x00", 8);
	hdr[8] = (char)(hlen & 0xff);
	hdr[9] = (char)(hlen >> 8);
	fwrite(hdr, 1, 10 + hlen, o->f);
}

static void write_record(output *o)
{
	if (!o->whole)
		write_header(o, o->nbuf, 0);
	fwrite(o->buf, dtype_size(o->dt), (size_t)(o->nbuf * o->size), o->f);
	if (ferror(o->f))
		check(o->f, o->name);
	o->nbuf = 0;
}

/* whole_file: f is a regular file we can seek back in (not opened for
 * appending, which would put the patched header at the end) */
static int whole_file(FILE *f, off_t *start)
{
	struct stat st;
	int fd = fileno(f), fl;

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return 0;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || (fl & O_APPEND) || (fl & O_ACCMODE) == O_RDONLY)
		return 0;
	return (*start = ftello(f)) >= 0;
}

static uint8_t to_u8(float v)
{
	if (!(v > 0))
		return 0;
	if (v >= 255)
		return 255;
	return (uint8_t)lrintf(v);
}

void output_write(output *o, const float *x)
{
	o->written++;
	if (o->pgm) {
		int w = o->pam.width, h = o->pam.height;
		float scale = o->dt == DT_U8 ? 1.0f : 255.0f;
		jmp_buf jb, *old;

		/* libnetpbm's write errors come back here, to be ours */
		pm_setusererrormsgfn(pnm_error_capture);
		pm_setjmpbufsave(&jb, &old);
		if (setjmp(jb)) {
			pm_setjmpbuf(old);
			check(o->f, o->name);
			die("write error: %s", pnm_msg);
		}
		pnm_writepaminit(&o->pam);
		pm_setjmpbuf(old);
		/* the raster of a raw PGM/PAM of maxval 255 is one byte a value,
		 * row by row: written from a row of bytes, not libnetpbm's tuple
		 * row of 16 bytes a value */
		for (int y = 0; y < h; y++) {
			unsigned char *p = o->row;
			for (int xx = 0; xx < w; xx++)
				for (unsigned c = 0; c < o->pam.depth; c++)
					*p++ = to_u8(x[((int64_t)c * h + y) * w + xx] * scale);
			fwrite(o->row, 1, (size_t)(p - o->row), o->f);
		}
		if (ferror(o->f))
			check(o->f, o->name);
		return;
	}
	if (o->dt == DT_U8) {
		uint8_t *p = o->buf + o->nbuf * o->size;
		for (int64_t i = 0; i < o->size; i++)
			p[i] = to_u8(x[i]);
	} else {
		memcpy(o->buf + o->nbuf * o->size * 4, x, (size_t)o->size * 4);
	}
	if (++o->nbuf == o->per_record)
		write_record(o);
}

void output_close(output *o)
{
	/* the last record; a stream of no samples is one record of 0 samples,
	 * which says the sample shape (a PGM stream of none is empty) */
	if (!o->pgm && (o->nbuf > 0 || (o->written == 0 && !o->whole)))
		write_record(o);
	if (o->whole) {
		off_t end;

		check(o->f, o->name);
		if ((end = ftello(o->f)) < 0 || fseeko(o->f, o->start, SEEK_SET) != 0)
			check_errno(o->name);
		write_header(o, o->written, 1);
		check(o->f, o->name);
		if (fseeko(o->f, end, SEEK_SET) != 0)
			check_errno(o->name);
	}
	check(o->f, o->name);
	free(o->row);
	free(o->buf);
	free(o);
}
