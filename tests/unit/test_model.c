/* test_model.c: model files: round trip, and every kind of damage refused
 * with a clear message (model_load's error return; model_read's die()
 * checked through fork). */
#define _GNU_SOURCE   /* memmem */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "model.h"

static int failures;
static char dir[64], path[128];

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

static unsigned char *slurp(const char *p, size_t *n)
{
	FILE *f = fopen(p, "rb");
	if (!f)
		die("%s:", p);
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	rewind(f);
	unsigned char *b = xmalloc(*n + 1);
	if (fread(b, 1, *n, f) != *n)
		die("%s: short read", p);
	fclose(f);
	return b;
}

static void spit(const char *p, const unsigned char *b, size_t n)
{
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0)
		die("%s:", p);
}

/* rewrite the trailing CRC so only the intended damage remains */
static void fix_crc(unsigned char *b, size_t n)
{
	uLong c = crc32(crc32(0L, Z_NULL, 0), b, (uInt)(n - 4));
	for (int i = 0; i < 4; i++)
		b[n - 4 + i] = (c >> (8 * i)) & 0xff;
}

/* load the damaged bytes; expect failure with msg in the message */
static void expect_refused(const char *what, const unsigned char *b, size_t n, const char *msg)
{
	char bad[160], err[600], line[700];
	model m;
	snprintf(bad, sizeof bad, "%s/bad.model", dir);
	spit(bad, b, n);
	int rc = model_load(&m, bad, err, sizeof err);
	int ok = rc < 0 && strstr(err, msg) != NULL && strstr(err, bad) == err;
	snprintf(line, sizeof line, "%s refused: %s", what, rc < 0 ? err : "(loaded!)");
	report(ok, line);
	if (rc == 0)
		model_free(&m);
}

static void replace(unsigned char **b, size_t *n, const char *from, const char *to)
{
	unsigned char *p = memmem(*b, *n, from, strlen(from));
	if (!p)
		die("test: '%s' not in the file", from);
	size_t off = (size_t)(p - *b), lf = strlen(from), lt = strlen(to);
	unsigned char *nb = xmalloc(*n - lf + lt);
	memcpy(nb, *b, off);
	memcpy(nb + off, to, lt);
	memcpy(nb + off + lt, *b + off + lf, *n - off - lf);
	free(*b);
	*b = nb;
	*n = *n - lf + lt;
}

int main(void)
{
	nn_set_threads(2);
	snprintf(dir, sizeof dir, "/tmp/test_model.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp:");
	snprintf(path, sizeof path, "%s/a.model", dir);

	/* a trained little network with Adam state */
	unet_config cfg = unet_defaults();
	cfg.filters = 4;
	cfg.act = ACT_TANH;
	unet *u = unet_create(&cfg, 4, 12, 10);
	unet_init_params(u, 8);
	float x[4 * 12 * 10], y[4 * 12 * 10], l1[4 * 12 * 10], l2[4 * 12 * 10];
	rng_t rng;
	rng_seed(&rng, 1);
	for (int i = 0; i < 480; i++) {
		x[i] = (float)rng_uniform(&rng);
		y[i] = x[i] > 0.5f;
	}
	adam_config opt = adam_defaults(1e-3f);
	for (int s = 0; s < 3; s++)
		unet_train_step(u, x, y, 4, LOSS_BCE, &opt);

	model m;
	model_init(&m, "unet");
	model_from_unet(&m, u, 1);
	m.loss = LOSS_BCE;
	m.epochs = 10; m.batch = 4; m.epoch = 3; m.lr = 1e-3f; m.weight_decay = 0.5f;
	m.seed = 18446744073709551615ULL; m.train_loss = 0.25f;
	model_save(&m, path);

	model r;
	char err[600];
	int rc = model_load(&r, path, err, sizeof err);
	if (rc < 0)
		printf("     %s\n", err);
	int same = rc == 0 && r.nparams == m.nparams && r.nstats == m.nstats && r.has_adam
		&& r.adam_step == 3 && !memcmp(r.params, m.params, m.nparams * 4)
		&& !memcmp(r.stats, m.stats, m.nstats * 4) && !memcmp(r.adam_m, m.adam_m, m.nparams * 4)
		&& !memcmp(r.adam_v, m.adam_v, m.nparams * 4) && r.depth == 2 && r.filters == 4
		&& r.act == ACT_TANH && r.height == 12 && r.width == 10 && r.epochs == 10
		&& r.epoch == 3 && r.lr == 1e-3f && r.weight_decay == 0.5f
		&& r.seed == 18446744073709551615ULL && r.train_loss == 0.25f && r.loss == LOSS_BCE
		&& !strcmp(r.kind, "unet");
	report(same, "save/load round trip: every field and tensor identical");

	/* the lr schedule: absent means constant; cosine round trips */
	{
		char path3[160];
		model c;
		snprintf(path3, sizeof path3, "%s/c.model", dir);
		m.cosine = 1;
		model_save(&m, path3);
		m.cosine = 0;
		int ok = model_load(&c, path3, err, sizeof err) == 0 && c.cosine == 1 && r.cosine == 0;
		report(ok, "lr_schedule: cosine saved and loaded; absent is constant");
		if (ok)
			model_free(&c);
	}

	/* saving what was loaded gives the same bytes */
	char path2[160];
	snprintf(path2, sizeof path2, "%s/b.model", dir);
	model_save(&r, path2);
	size_t n1, n2;
	unsigned char *b1 = slurp(path, &n1), *b2 = slurp(path2, &n2);
	report(n1 == n2 && !memcmp(b1, b2, n1), "load then save: identical bytes");
	free(b2);

	/* the network rebuilt from the file computes the same logits, and
	 * training resumes identically */
	unet *v = unet_from_model(&r, 4, 0, 0);
	unet_forward(u, x, 4, 0, l1);
	unet_forward(v, x, 4, 0, l2);
	int eq = !memcmp(l1, l2, sizeof l1);
	unet_train_step(u, x, y, 4, LOSS_BCE, &opt);
	unet_train_step(v, x, y, 4, LOSS_BCE, &opt);
	eq = eq && !memcmp(u->params.p, v->params.p, u->params.n * 4)
		&& !memcmp(u->stats, v->stats, u->nstats * 4);
	report(eq, "unet_from_model: same inference logits; resumed training identical");
	unet_free(v);

	/* damage */
	expect_refused("empty file", b1, 0, "not a segpipe model");
	unsigned char *b = xmalloc(n1);
	memcpy(b, b1, n1);
	b[0] = 'S';
	expect_refused("bad magic", b, n1, "not a segpipe model");
	memcpy(b, b1, n1);
	b[14] = '2';
	expect_refused("future version", b, n1,
		       "model format version 2 is newer than this segpipe (1); upgrade segpipe");
	expect_refused("truncated in the header", b1, 40, "truncated");
	expect_refused("truncated in the parameters", b1, n1 / 2, "truncated");
	expect_refused("truncated by one byte", b1, n1 - 1, "truncated");
	for (size_t off = 30; off < n1; off += n1 / 5) {
		memcpy(b, b1, n1);
		b[off] ^= 0x10;
		char what[64];
		snprintf(what, sizeof what, "byte %zu flipped", off);
		expect_refused(what, b, n1, "checksum mismatch: the file is corrupt");
	}
	memcpy(b, b1, n1);
	b[n1 - 1] ^= 1;
	expect_refused("checksum byte flipped", b, n1, "checksum mismatch");
	free(b);

	size_t n = n1;
	b = xmalloc(n);
	memcpy(b, b1, n);
	replace(&b, &n, "filters 4\n", "filters 4\ncolour blue\n");
	fix_crc(b, n);
	expect_refused("unknown key", b, n, "unknown header key 'colour'");
	free(b);
	n = n1; b = xmalloc(n); memcpy(b, b1, n);
	replace(&b, &n, "activation tanh", "activation swish");
	fix_crc(b, n);
	expect_refused("unknown activation", b, n, "unknown activation 'swish'");
	free(b);
	n = n1; b = xmalloc(n); memcpy(b, b1, n);
	replace(&b, &n, "filters 4\n", "filters 4\nlr_schedule linear\n");
	fix_crc(b, n);
	expect_refused("unknown lr schedule", b, n, "bad value 'linear' for lr_schedule");
	free(b);
	n = n1; b = xmalloc(n); memcpy(b, b1, n);
	replace(&b, &n, "depth 2", "depth 2x");
	fix_crc(b, n);
	expect_refused("bad number", b, n, "bad value '2x' for depth");
	free(b);
	n = n1; b = xmalloc(n); memcpy(b, b1, n);
	replace(&b, &n, "nparams ", "nparams 99999999");
	fix_crc(b, n);
	expect_refused("absurd nparams", b, n, "truncated");
	free(b);
	n = n1; b = xmalloc(n); memcpy(b, b1, n);
	replace(&b, &n, "kind unet", "kind rnn");
	fix_crc(b, n);
	expect_refused("unknown kind", b, n, "unknown model kind 'rnn'");
	free(b);

	/* model_read dies with exit status 1 */
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		model r2;   /* its own: r's tensors stay the parent's */

		freopen("/dev/null", "w", stderr);
		model_read(&r2, "/nonexistent/x.model");
		_exit(0);
	}
	int status;
	waitpid(pid, &status, 0);
	report(WIFEXITED(status) && WEXITSTATUS(status) == 1, "model_read on a missing file: die, exit 1");

	free(b1);
	model_free(&m);
	model_free(&r);
	unet_free(u);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("     could not remove %s\n", dir);
	if (failures) {
		printf("test_model: %d FAILED\n", failures);
		return 1;
	}
	printf("test_model: all passed\n");
	return 0;
}
