/* ctree.h: the fixed binary tree that sums the chunks of a batch, so that
 * a sum over K chunks has the same bytes however the chunks are shared out
 * (one process, or ranks of an MPI job: dist.h).
 *
 * Node (L, i) of the tree over K chunks covers chunks [i 2^L, (i+1) 2^L)
 * cut at K; a leaf (0, k) is chunk k; the root is (D, 0) with 2^D >= K the
 * smallest. The value of a node is its left child's plus its right child's,
 * element by element in float (left + right), or the left child's alone
 * when the right one covers no chunk. Any partial sums that are whole
 * nodes can be combined into the root with the same bytes as the sum from
 * the leaves: a process computes the nodes that cover its run of chunks
 * (ctree_cover), and whoever combines them evaluates the root from those. */
#ifndef SEGPIPE_CTREE_H
#define SEGPIPE_CTREE_H

#include <stddef.h>

typedef struct {
	int level, index;
} ctree_node;

/* ctree_depth: the root's level D for K chunks (0 for K = 1). */
int ctree_depth(int K);
/* CTREE_COVER_MAX: at most this many nodes cover a run of chunks */
#define CTREE_COVER_MAX 64
/* ctree_cover: the largest nodes that lie within chunks [lo, hi) of K, in
 * chunk order, into out; returns their number (0 when lo >= hi). */
int ctree_cover(int K, int lo, int hi, ctree_node *out);

/* ctree_get: fill out (n floats) with node (level, index)'s value and
 * return 1, or return 0 when the node is to be summed from its children
 * (a leaf must be given). */
typedef int (*ctree_get)(void *ctx, int level, int index, float *out);

/* ctree_eval: node (level, index) of the tree over K chunks into out (n
 * floats), from the nodes get gives; tmp holds level x n floats of
 * scratch. */
void ctree_eval(int K, int level, int index, size_t n, float *out, ctree_get get, void *ctx,
		float *tmp);

#endif
