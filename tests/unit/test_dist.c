/* test_dist.c: the fixed summation tree over chunks (lib/nn/ctree.c) gives
 * the same bytes however the chunks are shared out over ranks -- each rank
 * summing the nodes that cover its run, the nodes combined slice by slice
 * as dist.c does -- and dist_sum without mpirun (one rank) is that tree;
 * net_grad is net_train_step without its Adam step, to the byte. The MPI
 * runs themselves are in tests/mpi.bats. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctree.h"
#include "dist.h"
#include "net.h"

static int failures;

static void report(int ok, const char *what)
{
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	failures += !ok;
}

enum { N = 37 };   /* floats per chunk vector */

/* leaf values of very different sizes, so that the order of a sum shows */
static float *leaf_values(int K, uint64_t seed)
{
	float *v = malloc((size_t)K * N * sizeof(float));
	rng_t r;

	rng_seed(&r, seed);
	for (int i = 0; i < K * N; i++)
		v[i] = (float)((rng_uniform(&r) - 0.5) * pow(10, (double)rng_below(&r, 8) - 4));
	return v;
}

typedef struct {
	const float *leaf;      /* K x N */
	size_t lo, len;         /* the slice of each vector */
	int count;              /* known nodes (0: leaves only) */
	const ctree_node *node;
	const float *value;     /* count x len */
	int calls;
} source;

static int get(void *ctx, int level, int index, float *out)
{
	source *s = ctx;

	for (int j = 0; j < s->count; j++)
		if (s->node[j].level == level && s->node[j].index == index) {
			memcpy(out, s->value + (size_t)j * s->len, s->len * sizeof(float));
			return 1;
		}
	if (level > 0)
		return 0;
	memcpy(out, s->leaf + (size_t)index * N + s->lo, s->len * sizeof(float));
	s->calls++;
	return 1;
}

static void eval(int K, int level, int index, source *s, float *out)
{
	float *tmp = malloc((size_t)(level + 1) * s->len * sizeof(float));

	ctree_eval(K, level, index, s->len, out, get, s, tmp);
	free(tmp);
}

/* shared: the root over K chunks on R simulated ranks (dist.c's scheme) */
static void shared(int K, int R, const float *leaf, float *out, int *ok_cover)
{
	ctree_node node[64 * CTREE_COVER_MAX];
	float *value = malloc((size_t)64 * CTREE_COVER_MAX * N * sizeof(float));
	int total = 0;
	long next = 0;

	/* each rank: the nodes covering its run, summed from its leaves */
	for (int r = 0; r < R; r++) {
		int lo = (int)((long)K * r / R), hi = (int)((long)K * (r + 1) / R);
		int c = ctree_cover(K, lo, hi, node + total);
		for (int j = 0; j < c; j++) {
			ctree_node *nd = &node[total + j];
			long first = (long)nd->index << nd->level, end = first + (1L << nd->level);
			source s = { leaf, 0, N, 0, NULL, NULL, 0 };
			if (end > K)
				end = K;
			/* the covers partition the chunks, in chunk order */
			*ok_cover &= first == next && end <= hi && first >= lo;
			next = end;
			eval(K, nd->level, nd->index, &s, value + (size_t)(total + j) * N);
			*ok_cover &= s.calls == end - first;   /* each leaf of it once */
		}
		total += c;
	}
	*ok_cover &= next == K;
	/* slice s of every vector combined from the nodes' slices s */
	for (int sl = 0; sl < R; sl++) {
		size_t lo = (size_t)N * sl / R, len = (size_t)N * (sl + 1) / R - lo;
		float *part = malloc((size_t)total * (len ? len : 1) * sizeof(float));
		source s = { leaf, lo, len, total, node, part, 0 };
		for (int j = 0; j < total; j++)
			memcpy(part + (size_t)j * len, value + (size_t)j * N + lo, len * sizeof(float));
		if (len)
			eval(K, ctree_depth(K), 0, &s, out + lo);
		*ok_cover &= s.calls == 0;   /* no leaf needed again */
		free(part);
	}
	free(value);
}

static void test_tree(void)
{
	static const int Ks[] = { 1, 2, 3, 4, 5, 7, 8, 9, 12, 16, 17, 31, 64, 100 };
	int same = 1, cover_ok = 1, order_shows = 0;

	for (size_t i = 0; i < sizeof Ks / sizeof Ks[0]; i++) {
		int K = Ks[i];
		float *leaf = leaf_values(K, 7 + K), direct[N], got[N], seq[N];
		source s = { leaf, 0, N, 0, NULL, NULL, 0 };

		eval(K, ctree_depth(K), 0, &s, direct);
		for (int R = 1; R <= 12; R++) {
			memset(got, 0xff, sizeof got);
			shared(K, R, leaf, got, &cover_ok);
			if (memcmp(got, direct, sizeof got) != 0) {
				printf("     K %d, R %d: not the bytes of one rank\n", K, R);
				same = 0;
			}
		}
		/* the check can fail: a plain left-to-right sum has other bytes */
		for (int j = 0; j < N; j++) {
			seq[j] = 0;
			for (int k = 0; k < K; k++)
				seq[j] += leaf[k * N + j];
		}
		order_shows |= memcmp(seq, direct, sizeof seq) != 0;
		free(leaf);
	}
	report(same, "ctree: 1..12 ranks sum 1..100 chunks to the bytes of one");
	report(cover_ok, "ctree_cover: the nodes partition each run, in chunk order");
	report(order_shows, "ctree: the tree's bytes differ from a left-to-right sum (the check can fail)");
	report(ctree_depth(1) == 0 && ctree_depth(2) == 1 && ctree_depth(5) == 3 &&
	       ctree_depth(64) == 6, "ctree_depth");
}

/* dist_sum without mpirun: one rank, the tree from the leaves */
static const float *dist_leaves;
static int dist_calls;

static void dist_leaf_fn(void *ctx, int k, float *out)
{
	(void)ctx;
	memcpy(out, dist_leaves + (size_t)k * N, N * sizeof(float));
	dist_calls++;
}

static void test_dist_sum(void)
{
	int K = 13, lo, hi;
	float *leaf = leaf_values(K, 99), direct[N], got[N];
	source s = { leaf, 0, N, 0, NULL, NULL, 0 };

	dist_init();   /* no mpirun here: nothing started */
	eval(K, ctree_depth(K), 0, &s, direct);
	dist_leaves = leaf;
	dist_sum(K, N, dist_leaf_fn, NULL, got);
	dist_chunks(K, &lo, &hi);
	report(dist_size() == 1 && dist_rank() == 0 && lo == 0 && hi == K,
	       "dist: without mpirun, rank 0 of 1 with every chunk");
	report(memcmp(got, direct, sizeof got) == 0 && dist_calls == K,
	       "dist_sum: one rank sums every chunk once, by the tree");
	free(leaf);
}

/* net_grad then adam_step is net_train_step */
static void check_grad(net *a, net *b, const float *x, const void *y, int B, const char *what)
{
	adam_config opt = adam_defaults(0.01f);
	nn_params *pa = net_params(a), *pb = net_params(b);
	float la, lb;
	int ok = 1;

	for (int step = 0; step < 3; step++) {
		la = net_train_step(a, x, y, B, &opt);
		lb = net_grad(b, x, y, B);
		adam_step(pb, &opt);
		ok &= la == lb && memcmp(pa->p, pb->p, pa->n * sizeof(float)) == 0 &&
		      memcmp(pa->g, pb->g, pa->n * sizeof(float)) == 0;
	}
	report(ok, what);
}

static void test_net_grad(void)
{
	enum { B = 4, H = 8, W = 8 };
	float x[B * H * W], y[B * H * W];
	unet_config c = unet_defaults();
	int size[3] = { H * W, 16, H * W }, act[2] = { ACT_RELU, ACT_SIGMOID };
	unet *u1, *u2;
	mlp *m1, *m2;
	char err[128];

	for (int i = 0; i < B * H * W; i++) {
		x[i] = (float)((i * 37) % 11) / 10;
		y[i] = x[i] > 0.5f;
	}
	c.filters = 4;
	u1 = unet_create(&c, B, H, W);
	u2 = unet_create(&c, B, H, W);
	unet_init_params(u1, 3);
	unet_init_params(u2, 3);
	net *a = net_wrap_unet(u1, LOSS_BCE, 0), *b = net_wrap_unet(u2, LOSS_BCE, 0);
	check_grad(a, b, x, y, B, "net_grad + adam_step = net_train_step (unet), 3 steps");
	net_free(a);
	net_free(b);
	m1 = mlp_create(2, size, act, LOSS_MSE, err, sizeof err);
	m2 = mlp_create(2, size, act, LOSS_MSE, err, sizeof err);
	mlp_init_params(m1, 5);
	mlp_init_params(m2, 5);
	a = net_wrap_mlp(m1);
	b = net_wrap_mlp(m2);
	check_grad(a, b, x, y, B, "net_grad + adam_step = net_train_step (mlp), 3 steps");
	net_free(a);
	net_free(b);
}

int main(void)
{
	nn_set_threads(2);
	test_tree();
	test_dist_sum();
	test_net_grad();
	if (failures) {
		printf("test_dist: %d FAILED\n", failures);
		return 1;
	}
	printf("test_dist: all passed\n");
	return 0;
}
