/* model.c: write, read and check model files (man 5 segpipe-model). */
#include <errno.h>
#include <math.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

#include "atomic.h"
#include "model.h"
#include "terminal.h"

void model_init(model *m, const char *kind)
{
	memset(m, 0, sizeof *m);
	snprintf(m->kind, sizeof m->kind, "%s", kind);
	m->act = ACT_RELU;
	m->loss = LOSS_BCE;
	m->val_loss = NAN;
	m->best_val = INFINITY;
}

void model_free(model *m)
{
	free(m->params);
	free(m->stats);
	free(m->adam_m);
	free(m->adam_v);
	free(m->resume_params);
	free(m->resume_stats);
	m->params = m->stats = m->adam_m = m->adam_v = NULL;
	m->resume_params = m->resume_stats = NULL;
}

/* ---- writing ---- */

typedef struct {
	FILE *f;
	uLong crc;
	const char *name;   /* for errors: the path, or "stdout" */
} writer;

static void put(writer *w, const void *buf, size_t n)
{
	if (n && fwrite(buf, 1, n, w->f) != n)
		die("cannot write %s:", w->name);
	w->crc = crc32_z(w->crc, buf, n);
}

static void putf(writer *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof line)
		die("model header line too long");
	put(w, line, (size_t)n);
}

/* float32 little-endian, whatever the host */
static void put_floats(writer *w, const float *x, size_t n)
{
	unsigned char buf[4096];

	while (n > 0) {
		size_t k = n < sizeof buf / 4 ? n : sizeof buf / 4;
		for (size_t i = 0; i < k; i++) {
			uint32_t u;
			memcpy(&u, &x[i], 4);
			buf[4 * i] = u & 0xff;
			buf[4 * i + 1] = (u >> 8) & 0xff;
			buf[4 * i + 2] = (u >> 16) & 0xff;
			buf[4 * i + 3] = u >> 24;
		}
		put(w, buf, 4 * k);
		x += k;
		n -= k;
	}
}

void model_save(const model *m, const char *path)
{
	int to_stdout = strcmp(path, "-") == 0;
	writer w = { to_stdout ? stdout : atomic_open(path), crc32(0L, Z_NULL, 0),
		     to_stdout ? "stdout" : path };

	if (to_stdout)
		binary_out_check(stdout, "a model");

	putf(&w, "%s %d\n", MODEL_MAGIC, MODEL_VERSION);
	putf(&w, "kind %s\n", m->kind);
	putf(&w, "in_channels %d\n", m->in_channels);
	putf(&w, "out_channels %d\n", m->out_channels);
	if (strcmp(m->kind, "unet") == 0 || strcmp(m->kind, "cnn") == 0) {
		putf(&w, "depth %d\n", m->depth);
		putf(&w, "filters %d\n", m->filters);
		putf(&w, "activation %s\n", act_name(m->act));
		if (strcmp(m->kind, "cnn") == 0) {
			putf(&w, "convs %d\n", m->convs);
			putf(&w, "dropout %.9g\n", m->dropout);
			putf(&w, "freeze %d\n", m->freeze);
		}
	} else if (strcmp(m->kind, "fcn8") == 0) {
		putf(&w, "filters %d\n", m->filters);
		putf(&w, "activation %s\n", act_name(m->act));
	} else {
		putf(&w, "layers %s\n", m->layers);
		putf(&w, "activations %s\n", m->activations);
	}
	putf(&w, "height %d\n", m->height);
	putf(&w, "width %d\n", m->width);
	putf(&w, "loss %s\n", loss_name(m->loss));
	putf(&w, "classes %d\n", m->classes);
	putf(&w, "epochs %d\n", m->epochs);
	putf(&w, "batch %d\n", m->batch);
	putf(&w, "epoch %d\n", m->epoch);
	putf(&w, "lr %.9g\n", m->lr);
	if (m->cosine)
		putf(&w, "lr_schedule cosine\n");
	if (m->precision != KERN_FP32)   /* absent means fp32, as in older files */
		putf(&w, "precision %s\n", kern_precision_name(m->precision));
	if (m->chunks > 1)   /* absent means 1, as in older files */
		putf(&w, "chunks %d\n", m->chunks);
	putf(&w, "weight_decay %.9g\n", m->weight_decay);
	putf(&w, "seed %" PRIu64 "\n", m->seed);
	putf(&w, "train_loss %.9g\n", m->train_loss);
	putf(&w, "nparams %zu\n", m->nparams);
	putf(&w, "nstats %zu\n", m->nstats);
	putf(&w, "adam %d\n", m->has_adam ? 1 : 0);
	putf(&w, "adam_step %" PRId64 "\n", m->has_adam ? m->adam_step : 0);
	putf(&w, "val_loss %.9g\n", m->val_loss);
	putf(&w, "best_val %.9g\n", m->best_val);
	putf(&w, "best_epoch %d\n", m->best_epoch);
	putf(&w, "since_best %d\n", m->since_best);
	putf(&w, "since_cut %d\n", m->since_cut);
	putf(&w, "stopped %d\n", m->stopped);
	putf(&w, "resume %d\n", m->has_resume ? 1 : 0);
	if (m->partial)   /* absent means none, as in older files */
		putf(&w, "partial %d\npartial_loss %.17g\n", m->partial, m->partial_loss);
	put(&w, "\n", 1);
	put_floats(&w, m->params, m->nparams);
	put_floats(&w, m->stats, m->nstats);
	if (m->has_adam) {
		put_floats(&w, m->adam_m, m->nparams);
		put_floats(&w, m->adam_v, m->nparams);
	}
	if (m->has_resume) {
		put_floats(&w, m->resume_params, m->nparams);
		put_floats(&w, m->resume_stats, m->nstats);
	}
	unsigned char crc[4] = { w.crc & 0xff, (w.crc >> 8) & 0xff, (w.crc >> 16) & 0xff,
				 (w.crc >> 24) & 0xff };
	if (fwrite(crc, 1, 4, w.f) != 4)
		die("cannot write %s:", w.name);
	if (to_stdout) {
		if (fflush(stdout) != 0)
			die("cannot write stdout:");
	} else {
		atomic_commit(w.f);
	}
}

/* ---- reading ---- */

typedef struct {
	char *err;
	size_t errlen;
	const char *path;
} ctx;

static int fail(ctx *c, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(c->err, c->errlen, "%s: ", c->path);

	if (n < 0 || (size_t)n >= c->errlen)
		return -1;
	va_start(ap, fmt);
	vsnprintf(c->err + n, c->errlen - n, fmt, ap);
	va_end(ap);
	return -1;
}

static int parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;

	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_float(const char *s, float *out)
{
	char *end;

	errno = 0;
	float v = strtof(s, &end);
	if (errno || end == s || *end || v != v)
		return -1;
	*out = v;
	return 0;
}

/* the header keys a reader knows; each may appear once */
static const char *const known_keys[] = {
	"kind", "in_channels", "out_channels", "depth", "filters", "activation", "layers",
	"activations", "height", "width", "loss", "classes", "epochs", "batch", "epoch", "lr",
	"weight_decay", "seed", "train_loss", "nparams", "nstats", "adam", "adam_step",
	/* optional: the trainer's progress */
	"val_loss", "best_val", "best_epoch", "since_best", "since_cut", "stopped", "resume",
	"lr_schedule", "precision", "chunks",
	/* cnn */
	"convs", "dropout", "freeze",
	/* an interrupted epoch */
	"partial", "partial_loss",
};
#define NKEYS (sizeof known_keys / sizeof known_keys[0])

/* key_index: where a known key is in known_keys (the checks below name
 * keys, not positions) */
static int key_index(const char *key)
{
	for (size_t k = 0; k < NKEYS; k++)
		if (!strcmp(known_keys[k], key))
			return (int)k;
	die("internal error: no model key '%s'", key);
}

/* a list "a,b,c" of activation names */
static int check_act_list(const char *s)
{
	char buf[MODEL_LIST_MAX];

	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (act_parse(t) < 0 && strcmp(t, "none") != 0)
			return -1;
	return 0;
}

static int check_size_list(const char *s)
{
	char buf[MODEL_LIST_MAX];
	int n = 0;

	snprintf(buf, sizeof buf, "%s", s);
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		long v;
		if (parse_long(t, 1, 1 << 24, &v) < 0)
			return -1;
		n++;
	}
	return n >= 2 ? 0 : -1;
}

/* set one header field; -1 with a message on a bad value */
static int set_key(ctx *c, model *m, const char *key, const char *val)
{
	long v;

	if (!strcmp(key, "kind")) {
		if (strcmp(val, "unet") && strcmp(val, "mlp") && strcmp(val, "cnn") && strcmp(val, "fcn8"))
			return fail(c, "unknown model kind '%s' (unet, mlp, cnn or fcn8)", val);
		strcpy(m->kind, val);   /* "unet", "mlp", "cnn" or "fcn8": fits */
	} else if (!strcmp(key, "activation")) {
		int a = act_parse(val);
		if (a < 0)
			return fail(c, "unknown activation '%s'", val);
		m->act = (act_kind)a;
	} else if (!strcmp(key, "loss")) {
		int l = loss_parse(val);
		if (l < 0)
			return fail(c, "unknown loss '%s'", val);
		m->loss = (loss_kind)l;
	} else if (!strcmp(key, "layers")) {
		if (check_size_list(val) < 0)
			return fail(c, "bad layers '%s' (sizes separated by commas)", val);
		snprintf(m->layers, sizeof m->layers, "%s", val);
	} else if (!strcmp(key, "activations")) {
		if (check_act_list(val) < 0)
			return fail(c, "bad activations '%s'", val);
		snprintf(m->activations, sizeof m->activations, "%s", val);
	} else if (!strcmp(key, "lr_schedule")) {
		if (strcmp(val, "constant") && strcmp(val, "cosine"))
			return fail(c, "bad value '%s' for lr_schedule (constant or cosine)", val);
		m->cosine = !strcmp(val, "cosine");
	} else if (!strcmp(key, "precision")) {
		int p = kern_precision_parse(val);
		if (p < 0)
			return fail(c, "bad value '%s' for precision (fp32 or bf16)", val);
		m->precision = (kern_precision)p;
	} else if (!strcmp(key, "dropout")) {
		float f;
		if (parse_float(val, &f) < 0 || f < 0 || f > 0.95f)
			return fail(c, "bad value '%s' for dropout (0..0.95)", val);
		m->dropout = f;
	} else if (!strcmp(key, "lr") || !strcmp(key, "weight_decay") || !strcmp(key, "train_loss")) {
		float f;
		if (parse_float(val, &f) < 0)
			return fail(c, "bad value '%s' for %s", val, key);
		*(!strcmp(key, "lr") ? &m->lr : !strcmp(key, "weight_decay") ? &m->weight_decay
									 : &m->train_loss) = f;
	} else if (!strcmp(key, "val_loss") || !strcmp(key, "best_val")) {
		char *end;
		errno = 0;
		float f = strtof(val, &end);   /* nan and inf are meaningful here */
		if (errno || end == val || *end)
			return fail(c, "bad value '%s' for %s", val, key);
		*(!strcmp(key, "val_loss") ? &m->val_loss : &m->best_val) = f;
	} else if (!strcmp(key, "partial_loss")) {
		char *end;
		double d;
		errno = 0;
		d = strtod(val, &end);
		if (end == val || *end || errno || !isfinite(d) || d < 0)
			return fail(c, "bad value '%s' for %s", val, key);
		m->partial_loss = d;
	} else if (!strcmp(key, "seed")) {
		char *end;
		errno = 0;
		unsigned long long s = strtoull(val, &end, 10);
		if (errno || end == val || *end || val[0] == '-')
			return fail(c, "bad value '%s' for seed", val);
		m->seed = s;
	} else if (!strcmp(key, "nparams") || !strcmp(key, "nstats") || !strcmp(key, "adam_step")) {
		if (parse_long(val, 0, INT64_MAX, &v) < 0)
			return fail(c, "bad value '%s' for %s", val, key);
		if (!strcmp(key, "nparams"))
			m->nparams = (size_t)v;
		else if (!strcmp(key, "nstats"))
			m->nstats = (size_t)v;
		else
			m->adam_step = v;
	} else {
		/* the small integers */
		static const struct { const char *key; long lo, hi; size_t off; } ints[] = {
			{ "in_channels", 1, 1 << 24, offsetof(model, in_channels) },
			{ "out_channels", 1, 1 << 24, offsetof(model, out_channels) },
			{ "depth", 0, 8, offsetof(model, depth) },
			{ "filters", 1, 65536, offsetof(model, filters) },
			{ "height", 0, 1 << 16, offsetof(model, height) },
			{ "width", 0, 1 << 16, offsetof(model, width) },
			{ "classes", 0, 256, offsetof(model, classes) },
			{ "epochs", 0, 1 << 30, offsetof(model, epochs) },
			{ "batch", 0, 1 << 30, offsetof(model, batch) },
			{ "epoch", 0, 1 << 30, offsetof(model, epoch) },
			{ "adam", 0, 1, offsetof(model, has_adam) },
			{ "best_epoch", 0, 1 << 30, offsetof(model, best_epoch) },
			{ "since_best", 0, 1 << 30, offsetof(model, since_best) },
			{ "since_cut", 0, 1 << 30, offsetof(model, since_cut) },
			{ "stopped", 0, 1, offsetof(model, stopped) },
			{ "resume", 0, 1, offsetof(model, has_resume) },
			{ "chunks", 1, 65536, offsetof(model, chunks) },
			{ "convs", 1, 8, offsetof(model, convs) },
			{ "freeze", 0, 1, offsetof(model, freeze) },
			{ "partial", 0, 1 << 30, offsetof(model, partial) },
		};
		for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++)
			if (!strcmp(key, ints[i].key)) {
				if (parse_long(val, ints[i].lo, ints[i].hi, &v) < 0)
					return fail(c, "bad value '%s' for %s (%ld..%ld)", val, key,
						    ints[i].lo, ints[i].hi);
				*(int *)((char *)m + ints[i].off) = (int)v;
				return 0;
			}
		return fail(c, "unknown header key '%s'", key);
	}
	return 0;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* the n floats at p, or NULL when memory runs out (model_load says so,
 * naming the file) */
static float *get_floats(const unsigned char *p, size_t n)
{
	float *x = malloc((n ? n : 1) * sizeof(float));   /* n <= the file's size / 4 */

	for (size_t i = 0; x && i < n; i++) {
		uint32_t u = get_u32(p + 4 * i);
		memcpy(&x[i], &u, 4);
	}
	return x;
}

/* parse the header lines in buf[0..len): each "key value\n". Returns -1 on
 * a syntax error (message in c). */
static int parse_header(ctx *c, model *m, char *buf, size_t len, int *seen)
{
	size_t pos = 0;
	int line = 2;

	while (pos < len) {
		char *nl = memchr(buf + pos, '\n', len - pos);
		if (!nl)
			return fail(c, "header line %d has no end", line);
		*nl = '\0';
		char *key = buf + pos, *sp = strchr(key, ' ');
		if (!sp || sp == key || !sp[1])
			return fail(c, "header line %d is not 'key value'", line);
		*sp = '\0';
		char *val = sp + 1;
		for (char *q = key; *q; q++)
			if (!((*q >= 'a' && *q <= 'z') || (*q >= '0' && *q <= '9') || *q == '_'))
				return fail(c, "header line %d: bad key", line);
		for (char *q = val; *q; q++)
			if (*q < 0x21 || *q > 0x7e)
				return fail(c, "header line %d: bad character in the value of %s", line, key);
		if (strlen(val) >= MODEL_LIST_MAX)
			return fail(c, "header line %d: value of %s too long", line, key);
		size_t k;
		for (k = 0; k < NKEYS; k++)
			if (!strcmp(key, known_keys[k]))
				break;
		if (k == NKEYS)
			return fail(c, "unknown header key '%s' (line %d)", key, line);
		if (seen[k]++)
			return fail(c, "header key '%s' repeated (line %d)", key, line);
		if (set_key(c, m, key, val) < 0)
			return -1;
		pos = (size_t)(nl - buf) + 1;
		line++;
	}
	return 0;
}

static const char *file_type(mode_t mode)
{
	return S_ISDIR(mode) ? "a directory" : S_ISFIFO(mode) ? "a FIFO" : S_ISCHR(mode) ? "a character device"
	     : S_ISBLK(mode) ? "a block device" : S_ISSOCK(mode) ? "a socket" : "not a regular file";
}

/* open_regular: the model file for reading and its size, or NULL with a
 * message. A model is a regular file: the path is opened without blocking
 * (a FIFO would wait for a writer forever) and refused unless fstat says
 * it is one, whatever else it is (a directory, /dev/zero, a socket). */
static FILE *open_regular(ctx *c, size_t *size)
{
	struct stat st;
	int fd = open(c->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	FILE *f;

	if (fd < 0) {
		fail(c, "cannot open: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		fail(c, "cannot stat: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		fail(c, "%s, not a model file (a model is a regular file)", file_type(st.st_mode));
		close(fd);
		return NULL;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0 || !(f = fdopen(fd, "rb"))) {
		fail(c, "cannot open: %s", strerror(errno));
		close(fd);
		return NULL;
	}
	*size = (size_t)st.st_size;
	return f;
}

int model_load(model *m, const char *path, char *err, size_t errlen)
{
	ctx c = { err, errlen, path };
	int rc = -1;
	unsigned char *buf = NULL;
	size_t size = 0;
	FILE *f;

	model_init(m, "unet");
	m->path = path;
	f = open_regular(&c, &size);
	if (!f)
		return -1;
	buf = malloc(size + 1);
	if (!buf) {
		fclose(f);
		return fail(&c, "cannot hold its %zu bytes in memory", size);
	}
	if (fread(buf, 1, size, f) != size || getc(f) != EOF) {
		int e = ferror(f) ? errno : 0;
		fclose(f);
		free(buf);
		if (e)
			return fail(&c, "cannot read: %s", strerror(e));
		return fail(&c, "the file changed size while it was read");
	}
	fclose(f);
	buf[size] = '\0';
	/* the checksum covers everything before its own 4 bytes; taken now,
	 * before the header is parsed in place */
	int crc_ok = size >= 4 && crc32_z(crc32(0L, Z_NULL, 0), buf, size - 4) == get_u32(buf + size - 4);

	/* magic and version */
	size_t ml = strlen(MODEL_MAGIC);
	if (size < ml + 1 || memcmp(buf, MODEL_MAGIC " ", ml + 1) != 0) {
		fail(&c, "not a segpipe model file (no '%s' at the start)", MODEL_MAGIC);
		goto out;
	}
	char *nl = memchr(buf, '\n', size);
	long version;
	if (!nl) {
		fail(&c, "truncated file (no header)");
		goto out;
	}
	*nl = '\0';
	if (parse_long((char *)buf + ml + 1, 0, 1L << 30, &version) < 0) {
		fail(&c, "bad format version '%.20s'", (char *)buf + ml + 1);
		goto out;
	}
	if (version > MODEL_VERSION) {
		fail(&c, "model format version %ld is newer than this segpipe (%d); upgrade segpipe",
		     version, MODEL_VERSION);
		goto out;
	}
	if (version < 1) {
		fail(&c, "unknown model format version %ld", version);
		goto out;
	}
	size_t hstart = (size_t)((unsigned char *)nl - buf) + 1;

	/* header: up to the empty line */
	unsigned char *end = NULL;
	for (size_t i = hstart; i < size; i++)
		if (buf[i] == '\n' && (i == hstart || buf[i - 1] == '\n')) {
			end = buf + i;
			break;
		}
	if (!end) {
		fail(&c, "truncated file (the header does not end)");
		goto out;
	}
	size_t hlen = (size_t)(end - buf) - hstart, data = (size_t)(end - buf) + 1;
	int seen[NKEYS] = { 0 };
	char hdr_err[512];
	ctx hc = { hdr_err, sizeof hdr_err, path };
	int hdr_ok = parse_header(&hc, m, (char *)buf + hstart, hlen, seen) == 0;

	/* sizes: known only if the header made sense */
	size_t avail = size - data, need = 0;
	int sized = hdr_ok && seen[key_index("nparams")] && seen[key_index("nstats")] && seen[key_index("adam")];
	if (sized) {
		if (m->nparams > avail / 4 || m->nstats > avail / 4) {
			need = SIZE_MAX;
		} else {
			need = 4 * (m->nparams + m->nstats) + 4;
			if (m->has_adam)
				need += 8 * m->nparams;
			if (m->has_resume)
				need += 4 * (m->nparams + m->nstats);
		}
		if (avail < need) {
			if (need == SIZE_MAX)
				fail(&c, "truncated file (%zu bytes, far fewer than the header says)", size);
			else
				fail(&c, "truncated file (%zu bytes, expected %zu)", size, data + need);
			goto out;
		}
	}
	if (!crc_ok) {
		fail(&c, "checksum mismatch: the file is corrupt");
		goto out;
	}
	if (!hdr_ok) {
		snprintf(err, errlen, "%s", hdr_err);
		goto out;
	}
	if (!sized) {
		fail(&c, "header lacks %s", !seen[key_index("nparams")] ? "nparams" : !seen[key_index("nstats")] ? "nstats" : "adam");
		goto out;
	}
	if (avail != need) {
		fail(&c, "%zu bytes after the tensors the header describes", avail - need);
		goto out;
	}
	if (!seen[key_index("in_channels")] || !seen[key_index("out_channels")] || !seen[key_index("loss")]) {
		fail(&c, "header lacks %s", !seen[key_index("in_channels")] ? "in_channels" : !seen[key_index("out_channels")] ? "out_channels" : "loss");
		goto out;
	}
	if (!seen[key_index("kind")]) {
		fail(&c, "header lacks kind");
		goto out;
	}
	if (!strcmp(m->kind, "unet") && (!seen[key_index("depth")] || !seen[key_index("filters")] || !seen[key_index("activation")])) {
		fail(&c, "unet header lacks %s", !seen[key_index("depth")] ? "depth" : !seen[key_index("filters")] ? "filters" : "activation");
		goto out;
	}
	if (!strcmp(m->kind, "cnn")) {
		static const char *const need[] = { "depth", "filters", "activation", "convs", "dropout" };
		const char *lack = NULL;
		for (size_t i = 0; i < sizeof need / sizeof need[0] && !lack; i++)
			if (!seen[key_index(need[i])])
				lack = need[i];
		if (lack) {
			fail(&c, "cnn header lacks %s", lack);
			goto out;
		}
	}
	if (!strcmp(m->kind, "fcn8") && (!seen[key_index("filters")] || !seen[key_index("activation")])) {
		fail(&c, "fcn8 header lacks %s", !seen[key_index("filters")] ? "filters" : "activation");
		goto out;
	}
	if (!strcmp(m->kind, "mlp") && (!seen[key_index("layers")] || !seen[key_index("activations")])) {
		fail(&c, "mlp header lacks %s", !seen[key_index("layers")] ? "layers" : "activations");
		goto out;
	}
	const unsigned char *p = buf + data;
	m->params = get_floats(p, m->nparams);
	p += 4 * m->nparams;
	m->stats = get_floats(p, m->nstats);
	p += 4 * m->nstats;
	if (m->has_adam) {
		m->adam_m = get_floats(p, m->nparams);
		p += 4 * m->nparams;
		m->adam_v = get_floats(p, m->nparams);
		p += 4 * m->nparams;
	} else {
		m->adam_step = 0;
	}
	if (m->has_resume) {
		m->resume_params = get_floats(p, m->nparams);
		p += 4 * m->nparams;
		m->resume_stats = get_floats(p, m->nstats);
	}
	if (!m->params || !m->stats || (m->has_adam && (!m->adam_m || !m->adam_v)) ||
	    (m->has_resume && (!m->resume_params || !m->resume_stats))) {
		model_free(m);
		fail(&c, "cannot hold its %zu bytes of tensors in memory", need);
		goto out;
	}
	rc = 0;
out:
	free(buf);
	return rc;
}

void model_read(model *m, const char *path)
{
	char err[600];

	if (model_load(m, path, err, sizeof err) < 0)
		die("%s", err);
}

void model_put_state(model *m, const nn_params *p, const float *stats, size_t ns, int with_adam)
{
	size_t n = p->n;

	m->nparams = n;
	m->nstats = ns;
	m->params = xmalloc_array(n ? n : 1, sizeof(float));
	memcpy(m->params, p->p, n * sizeof(float));
	m->stats = xmalloc_array(ns ? ns : 1, sizeof(float));
	if (ns)
		memcpy(m->stats, stats, ns * sizeof(float));
	m->has_adam = with_adam;
	m->adam_step = with_adam ? p->step : 0;
	if (with_adam) {
		m->adam_m = xmalloc_array(n ? n : 1, sizeof(float));
		m->adam_v = xmalloc_array(n ? n : 1, sizeof(float));
		memcpy(m->adam_m, p->m, n * sizeof(float));
		memcpy(m->adam_v, p->v, n * sizeof(float));
	}
}

void model_get_state(const model *m, nn_params *p, float *stats)
{
	memcpy(p->p, m->params, m->nparams * sizeof(float));
	if (m->nstats)
		memcpy(stats, m->stats, m->nstats * sizeof(float));
	if (m->has_adam) {
		memcpy(p->m, m->adam_m, m->nparams * sizeof(float));
		memcpy(p->v, m->adam_v, m->nparams * sizeof(float));
		p->step = m->adam_step;
	}
}

void model_check_sizes(const model *m, const char *path, size_t n, size_t ns)
{
	if (n != m->nparams)
		die("%s: the model has %zu parameters, but its %s header implies %zu", path,
		    m->nparams, m->kind, n);
	if (ns != m->nstats)
		die("%s: the model has %zu statistics, but its %s header implies %zu", path,
		    m->nstats, m->kind, ns);
}

void model_from_unet(model *m, const unet *u, int with_adam)
{
	model_free(m);
	snprintf(m->kind, sizeof m->kind, "unet");
	m->in_channels = u->cfg.in_channels;
	m->out_channels = u->cfg.out_channels;
	m->depth = u->cfg.depth;
	m->filters = u->cfg.filters;
	m->act = u->cfg.act;
	m->height = u->H;
	m->width = u->W;
	model_put_state(m, &u->params, u->stats, u->nstats, with_adam);
}

unet *unet_from_model(const model *m, int max_batch, int H, int W)
{
	const char *name = m->path ? m->path : "the model";
	unet_config cfg = { m->in_channels, m->out_channels, m->depth, m->filters, m->act };
	size_t n, ns;
	char err[128];

	if (strcmp(m->kind, "unet") != 0)
		die("%s: the model is a%s %s, not a unet", name, m->kind[0] == 'm' ? "n" : "", m->kind);
	if (unet_check(&cfg, err, sizeof err) < 0)
		die("%s: the unet header has %s", name, err);
	unet_sizes(&cfg, &n, &ns);
	model_check_sizes(m, name, n, ns);
	if (max_batch < 1 || max_batch > 65536)
		die("%s: batch %d out of range 1..65536", name, max_batch);
	unet *u = unet_create(&cfg, max_batch, H > 0 ? H : m->height, W > 0 ? W : m->width);
	model_get_state(m, &u->params, u->stats);
	return u;
}
