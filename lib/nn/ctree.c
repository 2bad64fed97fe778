/* ctree.c: the fixed summation tree over the chunks of a batch (ctree.h). */
#include "ctree.h"
#include "util.h"

int ctree_depth(int K)
{
	int D = 0;

	while ((1L << D) < K)
		D++;
	return D;
}

/* the chunks node (L, i) covers: [first, end) */
static long first_of(int L, int i) { return (long)i << L; }
static long end_of(int K, int L, int i)
{
	long e = (long)(i + 1) << L;
	return e < K ? e : K;
}

static void cover(int K, int L, int i, int lo, int hi, ctree_node *out, int *n)
{
	long a = first_of(L, i), b = end_of(K, L, i);

	if (a >= K || b <= lo || a >= hi)
		return;   /* no chunk of [lo, hi) below */
	if (a >= lo && b <= hi) {
		if (*n >= CTREE_COVER_MAX)
			die("internal error: ctree_cover: more than %d nodes", CTREE_COVER_MAX);
		out[(*n)++] = (ctree_node){ L, i };
		return;
	}
	cover(K, L - 1, 2 * i, lo, hi, out, n);
	cover(K, L - 1, 2 * i + 1, lo, hi, out, n);
}

int ctree_cover(int K, int lo, int hi, ctree_node *out)
{
	int n = 0;

	if (lo < hi)
		cover(K, ctree_depth(K), 0, lo, hi, out, &n);
	return n;
}

void ctree_eval(int K, int level, int index, size_t n, float *out, ctree_get get, void *ctx,
		float *tmp)
{
	float *right;

	if (get(ctx, level, index, out))
		return;
	if (level == 0)
		die("internal error: ctree_eval: chunk %d has no value", index);
	/* the left child into out, the right one (if it covers a chunk) into
	 * this level's scratch; each child's own scratch lies below it */
	ctree_eval(K, level - 1, 2 * index, n, out, get, ctx, tmp);
	if (first_of(level - 1, 2 * index + 1) >= K)
		return;
	right = tmp + (size_t)(level - 1) * n;
	ctree_eval(K, level - 1, 2 * index + 1, n, right, get, ctx, tmp);
	for (size_t j = 0; j < n; j++)
		out[j] = out[j] + right[j];
}
