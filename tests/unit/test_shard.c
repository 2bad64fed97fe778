/* test_shard.c: the sharded order of a data-parallel run (epochs.h) and
 * the loader that keeps a rank's share of a stream (dataset_load_keep,
 * dataset_load_range, dataset_count in stream.h). With one chunk the
 * sharded order is epoch_order's, so every single-chunk run keeps its
 * bytes; with K chunks, chunk k of every batch draws from shard k alone,
 * and each shard is used up exactly once an epoch. The loader keeps the
 * same samples, to the byte, that a whole load has at those indices, from
 * a gzip IDX file and from multi-record .npy streams, plain and gzip. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "epochs.h"
#include "stream.h"
#include "util.h"

static int failures;

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

/* ---- the order ---- */

static void test_one_chunk(void)
{
	/* (n, val fraction, batch, seed, epoch): full and short last batches */
	static const struct { int64_t n; double frac; int batch; uint64_t seed; int epoch; } c[] = {
		{ 64, 0, 16, 1, 0 }, { 64, 0.25, 16, 1, 3 }, { 40, 0.2, 15, 7, 1 },
		{ 1000, 0.1, 33, 12345, 9 }, { 5, 0, 16, 2, 0 },
	};
	int ok = 1;

	for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
		int64_t ntrain, nval;
		int64_t *order = holdout_split(c[i].n, c[i].frac, c[i].seed, &ntrain, &nval);
		int64_t *a = epoch_order(order, ntrain, c[i].seed, c[i].epoch);
		int64_t *b = epoch_order_sharded(order, ntrain, c[i].batch, 1, c[i].seed, c[i].epoch);
		ok &= memcmp(a, b, (size_t)ntrain * sizeof *a) == 0;
		free(a);
		free(b);
		free(order);
	}
	report(ok, "one chunk: the sharded order is epoch_order's, in 5 cases");
}

/* check_sharded: with K chunks, every batch's chunk k holds samples of
 * shard k only (the training samples ascending, cut at shard_start), the
 * epoch is a permutation of the training samples, and shard_samples is
 * each rank's part of them */
static int check_sharded(int64_t n, double frac, int batch, int K, uint64_t seed, int epoch)
{
	int64_t ntrain, nval, cnt;
	int64_t *order = holdout_split(n, frac, seed, &ntrain, &nval);
	int64_t *perm = epoch_order_sharded(order, ntrain, batch, K, seed, epoch);
	int64_t *all = shard_samples(order, ntrain, batch, K, 0, K, &cnt);
	char *seen = calloc((size_t)n, 1), *train = calloc((size_t)n, 1);
	int ok = cnt == ntrain && shard_start(ntrain, batch, K, 0) == 0 &&
		 shard_start(ntrain, batch, K, K) == ntrain;

	for (int64_t i = 0; i < ntrain; i++)
		train[order[i]] = 1;
	for (int64_t i = 1; i < cnt && ok; i++)
		ok = all[i - 1] < all[i];
	for (int64_t s = 0; s < ntrain && ok; s += batch) {
		int64_t B = ntrain - s < batch ? ntrain - s : batch;
		for (int k = 0; k < K; k++) {
			int64_t lo = all[0], hi = -1, c0 = B * k / K, c1 = B * (k + 1) / K;
			int64_t a = shard_start(ntrain, batch, K, k), b = shard_start(ntrain, batch, K, k + 1);
			if (b > a) {
				lo = all[a];
				hi = all[b - 1];
			}
			for (int64_t j = s + c0; j < s + c1; j++) {
				int64_t x = perm[j];
				ok &= x >= lo && x <= hi && train[x] && !seen[x];
				seen[x] = 1;
			}
		}
	}
	/* a rank's chunks [1, K): the samples of those shards */
	if (ok && K > 1) {
		int64_t *part = shard_samples(order, ntrain, batch, K, 1, K, &cnt);
		int64_t a = shard_start(ntrain, batch, K, 1);
		ok = cnt == ntrain - a && memcmp(part, all + a, (size_t)cnt * sizeof *part) == 0;
		free(part);
	}
	free(seen);
	free(train);
	free(all);
	free(perm);
	free(order);
	return ok;
}

static void test_chunks(void)
{
	int64_t ntrain, nval, *order, *a, *b, same = 0;

	report(check_sharded(64, 0, 16, 2, 1, 0), "2 chunks, 64 samples in batches of 16: "
	       "chunk k draws from shard k alone, every sample once");
	report(check_sharded(64, 0.25, 16, 2, 3, 2), "the same with a quarter held out");
	/* 32 of 40 in batches of 15, the last of 2: chunks of 3 or 4, then 0 or 1 */
	report(check_sharded(40, 0.2, 15, 4, 1, 1), "4 chunks, batches of 15 and a last of 2: "
	       "uneven shards, empty chunks");
	report(check_sharded(1000, 0.1, 33, 5, 77, 4), "5 chunks of batches of 33, 900 samples");
	report(check_sharded(7, 0, 16, 4, 1, 0), "4 chunks and fewer samples than the batch");
	/* the sizes: with batch 16 and 2 chunks, 8 + 8 per batch */
	report(shard_start(64, 16, 2, 1) == 32 && shard_start(52, 15, 4, 1) == 10 &&
	       shard_start(52, 15, 4, 2) == 24, "shard sizes: what each chunk takes in an epoch");
	/* another epoch, another order (of the same shards) */
	order = holdout_split(64, 0, 1, &ntrain, &nval);
	a = epoch_order_sharded(order, ntrain, 16, 2, 1, 0);
	b = epoch_order_sharded(order, ntrain, 16, 2, 1, 1);
	for (int64_t i = 0; i < ntrain; i++)
		same += a[i] == b[i];
	report(same < ntrain / 4, "two epochs differ in order");
	free(a);
	free(b);
	free(order);
}

/* ---- the loader ---- */

static char dir[64];

/* same_samples: d keeps exactly samples keep[0..nkeep-1] of whole, byte
 * for byte (their stored values and scales), and says whole's count */
static int same_samples(const dataset *d, const dataset *whole, const int64_t *keep, int64_t nkeep)
{
	float *x = malloc((size_t)whole->size * sizeof *x), *y = malloc((size_t)whole->size * sizeof *y);
	int ok = d->n == whole->n && d->nkept == nkeep && d->size == whole->size &&
		 d->is_u8 == whole->is_u8 && shape_equal(&d->shape, &whole->shape);

	for (int64_t j = 0; j < nkeep && ok; j++) {
		ok = dataset_index(d, j) == keep[j];
		dataset_get(d, keep[j], x, ROLE_RAW);
		dataset_get(whole, keep[j], y, ROLE_RAW);
		ok &= memcmp(x, y, (size_t)whole->size * sizeof *x) == 0;
		dataset_get(d, keep[j], x, ROLE_INTENSITY);
		dataset_get(whole, keep[j], y, ROLE_INTENSITY);
		ok &= memcmp(x, y, (size_t)whole->size * sizeof *x) == 0;
	}
	free(x);
	free(y);
	return ok;
}

static void check_loader(const char *path, const char *what)
{
	char line[256];
	dataset *whole = dataset_load(path), *d;
	int64_t n = whole->n, lo = n / 3, hi = 2 * n / 3 + 1, *keep;
	int64_t scattered[] = { 0, 2, 3, n / 2, n - 2, n - 1 };
	int ok;

	keep = malloc((size_t)(hi - lo) * sizeof *keep);
	for (int64_t i = lo; i < hi; i++)
		keep[i - lo] = i;
	d = dataset_load_range(path, lo, hi);
	snprintf(line, sizeof line, "%s: dataset_load_range keeps samples %" PRId64 "..%" PRId64
		 " of %" PRId64 ", byte for byte", what, lo, hi - 1, n);
	report(same_samples(d, whole, keep, hi - lo), line);
	dataset_free(d);
	free(keep);

	d = dataset_load_keep(path, scattered, 6);
	snprintf(line, sizeof line, "%s: dataset_load_keep keeps 6 scattered samples", what);
	report(same_samples(d, whole, scattered, 6), line);
	dataset_free(d);

	d = dataset_load_range(path, n, n);
	ok = d->n == n && d->nkept == 0;
	dataset_free(d);
	snprintf(line, sizeof line, "%s: an empty range keeps none, counts %" PRId64, what, n);
	report(ok && dataset_count(path) == n, line);
	dataset_free(whole);
}

/* write_npy: samples first..first+count-1 of whole as one .npy record of
 * float32 (values x 0.5, so not uint8) appended to f */
static void write_npy(FILE *f, const dataset *whole, int64_t first, int64_t count)
{
	char path[128];
	float *x = malloc((size_t)whole->size * sizeof *x);
	FILE *g;
	output *o;
	int c;

	snprintf(path, sizeof path, "%s/rec.npy", dir);
	g = fopen(path, "w+b");
	if (!g)
		die("%s:", path);
	o = output_open(g, 0, DT_F32, &whole->shape);
	for (int64_t i = first; i < first + count; i++) {
		dataset_get(whole, i, x, ROLE_RAW);
		for (int64_t k = 0; k < whole->size; k++)
			x[k] *= 0.5f;
		output_write(o, x);
	}
	output_close(o);
	rewind(g);
	while ((c = getc(g)) != EOF)
		putc(c, f);
	fclose(g);
	free(x);
}

static void test_loader(void)
{
	const char *idx = "tests/fixtures/mnist-test-500-images.idx.gz";
	char multi[128], gz[128];
	dataset *whole;
	FILE *f;
	gzFile z;
	int c;

	if (access(idx, R_OK) != 0) {
		printf("skip the loader: %s not found (run from the top of the tree)\n", idx);
		return;
	}
	check_loader(idx, "gzip IDX");
	/* three records back to back (as cat a.npy b.npy c.npy makes them) */
	snprintf(dir, sizeof dir, "/tmp/test_shard.XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp:");
	snprintf(multi, sizeof multi, "%s/multi.npy", dir);
	snprintf(gz, sizeof gz, "%s/multi.npy.gz", dir);
	whole = dataset_load(idx);
	f = fopen(multi, "wb");
	write_npy(f, whole, 0, 7);
	write_npy(f, whole, 7, 1);
	write_npy(f, whole, 8, 12);
	fclose(f);
	dataset_free(whole);
	check_loader(multi, "3 float32 .npy records");
	/* the same, gzip-compressed */
	f = fopen(multi, "rb");
	z = gzopen(gz, "wb");
	while ((c = getc(f)) != EOF)
		gzputc(z, c);
	gzclose(z);
	fclose(f);
	check_loader(gz, "3 .npy records, gzip");
	unlink(gz);
	unlink(multi);
	snprintf(multi, sizeof multi, "%s/rec.npy", dir);
	unlink(multi);
	rmdir(dir);
}

int main(void)
{
	test_one_chunk();
	test_chunks();
	test_loader();
	if (failures) {
		printf("test_shard: %d FAILED\n", failures);
		return 1;
	}
	printf("test_shard: all passed\n");
	return 0;
}
