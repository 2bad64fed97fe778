/* tsne: vectors -> 2-D points by Barnes-Hut t-SNE (van der Maaten 2014).
 *
 * The steps, after the reference implementation (bhtsne, by the paper's
 * author), written anew:
 *   1. the data centred and scaled by their largest absolute value;
 *   2. the k = 3 perplexity nearest neighbours of every point, exactly, by
 *      blocked products (kgemm) over all pairs;
 *   3. per point a Gaussian over its neighbours whose entropy is
 *      log(perplexity) (bisection on its precision), then P symmetrised,
 *      (P + P^T) / sum, sparse by rows;
 *   4. gradient descent from a small random start: attraction over the
 *      edges of P, repulsion by a quadtree of the points (Barnes-Hut: a cell
 *      whose half width is below theta times its distance counts as one
 *      body at its centre of mass), momentum 0.5 then 0.8, per-coordinate
 *      gains, P exaggerated 12 times for the first 250 iterations.
 * Every loop over points writes per point and every sum over points is
 * taken in index order afterwards, so the output does not depend on the
 * number of threads. */
#include <float.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tensor.h"
#include "nn.h"
#include "kern.h"

static const char usage[] =
"Usage: tsne [--perplexity P] [--iterations N] [--theta T] [--learning-rate R]\n"
"            [-s SEED] [-j N] [-v] [FILE]\n"
"Embeds the samples of FILE, each flattened to a vector, as 2-D points by\n"
"Barnes-Hut t-SNE, and writes them as a float32 tensor stream of shape\n"
"(N,2), in the order of the input. uint8 input is read as intensities.\n"
"\n"
"      --perplexity P   the effective number of neighbours (default 30);\n"
"                       3 P nearest neighbours make P, so N > 3 P\n"
"      --iterations N   gradient steps (default 1000)\n"
"      --theta T        Barnes-Hut accuracy, 0 (exact, slow) to 1 (default 0.5)\n"
"      --learning-rate R  the step size (default max(200, N/12))\n"
"  -s, --seed SEED      seed of the random start (default 1)\n"
"  -j, --threads N      threads (default: all cores); the output is the same\n"
"  -v, --verbose        the KL divergence every 50 iterations, on stderr\n"
"  -h, --help           show this help and exit\n"
"      --version        show the version and exit\n"
"\n"
"With no FILE, or when FILE is -, read standard input.\n";

enum {
	EXAGGERATION_ITERS = 250,   /* early exaggeration, and momentum 0.5, this long */
	TREE_DEPTH_MAX = 48,        /* a deeper cell merges its points into one body */
	ROW_BLOCK = 128,            /* kNN: rows and columns of one product */
	COL_BLOCK = 2048
};
static const double EXAGGERATION = 12;

struct options {
	double perplexity;
	long iterations;
	double theta;
	double rate;          /* 0: max(200, N/12) */
	uint64_t seed;
	int threads;
	int verbose;
	const char *file;
};

static void parse_args(int argc, char **argv, struct options *o)
{
	enum { OPT_PERPLEXITY = 256, OPT_ITERATIONS, OPT_THETA, OPT_RATE };
	static const struct option longopts[] = {
		{ "perplexity", required_argument, NULL, OPT_PERPLEXITY },
		{ "iterations", required_argument, NULL, OPT_ITERATIONS },
		{ "theta", required_argument, NULL, OPT_THETA },
		{ "learning-rate", required_argument, NULL, OPT_RATE },
		{ "seed", required_argument, NULL, 's' },
		{ "threads", required_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	int c;

	while ((c = getopt_long(argc, argv, ":s:j:vh", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_PERPLEXITY:
			o->perplexity = cli_double("--perplexity", optarg, 1, 1e6);
			break;
		case OPT_ITERATIONS:
			o->iterations = cli_long("--iterations", optarg, 1, 1000000);
			break;
		case OPT_THETA: o->theta = cli_double("--theta", optarg, 0, 1); break;
		case OPT_RATE: o->rate = cli_double("--learning-rate", optarg, 1e-6, 1e9); break;
		case 's': o->seed = cli_seed("--seed", optarg); break;
		case 'j': o->threads = cli_threads("--threads", optarg); break;
		case 'v': o->verbose = 1; break;
		case 'h': cli_help(usage); break;
		case 'V': cli_version(); break;
		default: cli_bad_option(c, argv);
		}
	}
	cli_operands(argc, argv, optind, 0, 1, &o->file);
}

/* ---- 1. the data ------------------------------------------------------- */

/* load_points: X (n, d) from the stream, centred and scaled into [-1,1] */
static float *load_points(const char *path, int64_t *n_out, int64_t *d_out)
{
	dataset *ds = dataset_load(path);
	int64_t n = ds->n, d = ds->size;
	float *X;
	double *mean, top = 0;

	if (n < 4)
		die("%" PRId64 " samples are too few for t-SNE: it needs at least 4 (%s)", n,
		    ds->name);
	if (n > INT32_MAX / 2)
		die("%" PRId64 " samples are too many (%s)", n, ds->name);
	X = xmalloc_array((size_t)n, (size_t)d * sizeof *X);
	mean = xcalloc((size_t)d, sizeof *mean);
	for (int64_t i = 0; i < n; i++) {
		float *x = X + i * d;
		dataset_get(ds, i, x, ROLE_INTENSITY);
		for (int64_t k = 0; k < d; k++) {
			if (!isfinite(x[k]))
				die("value %g at element %" PRId64 " is not finite (%s, sample %"
				    PRId64 ")", (double)x[k], k, ds->name, i);
			mean[k] += x[k];
		}
	}
	for (int64_t k = 0; k < d; k++)
		mean[k] /= (double)n;
	for (int64_t i = 0; i < n * d; i++) {
		double v = fabs(X[i] - mean[i % d]);
		if (v > top)
			top = v;
	}
	for (int64_t i = 0; i < n * d; i++)
		X[i] = (float)(top > 0 ? (X[i] - mean[i % d]) / top : 0);
	dataset_free(ds);
	free(mean);
	*n_out = n;
	*d_out = d;
	return X;
}

/* ---- 2. nearest neighbours ---------------------------------------------- */

/* A neighbour: its index and squared distance; ordered by (d2, index) so
 * that the k nearest are one set, whatever the order they are seen in. */
typedef struct {
	float d2;
	int32_t j;
} neighbour;

static int farther(neighbour a, neighbour b)
{
	return a.d2 > b.d2 || (a.d2 == b.d2 && a.j > b.j);
}

/* heap_offer: keep the k nearest in a max-heap h (k) of m entries so far */
static void heap_offer(neighbour *h, int *m, int k, neighbour c)
{
	int i;

	if (*m < k) {
		i = (*m)++;
		while (i > 0 && farther(c, h[(i - 1) / 2])) {
			h[i] = h[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = c;
		return;
	}
	if (!farther(h[0], c))
		return;
	i = 0;
	for (;;) {
		int l = 2 * i + 1, r = l + 1, big = i;
		neighbour top = c;
		if (l < k && farther(h[l], top)) {
			big = l;
			top = h[l];
		}
		if (r < k && farther(h[r], top))
			big = r;
		if (big == i)
			break;
		h[i] = h[big];
		i = big;
	}
	h[i] = c;
}

static int by_index(const void *a, const void *b)
{
	int32_t x = ((const neighbour *)a)->j, y = ((const neighbour *)b)->j;
	return (x > y) - (x < y);
}

/* nearest: nb (n, k) the k nearest neighbours of every point of X (n, d),
 * each row sorted by index, with squared distances recomputed exactly (in
 * double) for the perplexity. The products run in fp32. */
static void nearest(neighbour *nb, const float *X, int64_t n, int64_t d, int k)
{
	float *sq = xmalloc_array((size_t)n, sizeof *sq);
	int64_t nblocks = (n + ROW_BLOCK - 1) / ROW_BLOCK;

	for (int64_t i = 0; i < n; i++) {
		double s = 0;
		for (int64_t t = 0; t < d; t++)
			s += (double)X[i * d + t] * X[i * d + t];
		sq[i] = (float)s;
	}
	#pragma omp parallel
	{
		float *C = xmalloc_array((size_t)ROW_BLOCK * COL_BLOCK, sizeof *C);
		int *m = xmalloc_array(ROW_BLOCK, sizeof *m);

		#pragma omp for schedule(dynamic, 1)
		for (int64_t b = 0; b < nblocks; b++) {
			int64_t r0 = b * ROW_BLOCK, br = n - r0 < ROW_BLOCK ? n - r0 : ROW_BLOCK;

			for (int64_t r = 0; r < br; r++)
				m[r] = 0;
			for (int64_t c0 = 0; c0 < n; c0 += COL_BLOCK) {
				int64_t bc = n - c0 < COL_BLOCK ? n - c0 : COL_BLOCK;
				/* C (br, bc) = X[r0..] X[c0..]^T */
				kgemm(0, 1, (int)br, (int)bc, (int)d, X + r0 * d, (int)d,
				      X + c0 * d, (int)d, 0, C, (int)bc);
				for (int64_t r = 0; r < br; r++) {
					int64_t i = r0 + r;
					for (int64_t c = 0; c < bc; c++) {
						neighbour e;
						float v;
						if (c0 + c == i)
							continue;
						v = sq[i] + sq[c0 + c] - 2 * C[r * bc + c];
						e.d2 = v > 0 ? v : 0;
						e.j = (int32_t)(c0 + c);
						heap_offer(nb + i * k, &m[r], k, e);
					}
				}
			}
			for (int64_t r = 0; r < br; r++) {
				neighbour *row = nb + (r0 + r) * k;
				qsort(row, (size_t)k, sizeof *row, by_index);
			}
		}
		free(C);
		free(m);
	}
	free(sq);
}

/* ---- 3. the joint probabilities P ----------------------------------------- */

/* row_gaussian: p (k) over the squared distances d2 (k), with the precision
 * beta found by bisection so that its entropy is log(perplexity) (within
 * 1e-5 nats, at most 200 steps), as bhtsne does. */
static void row_gaussian(double *p, const double *d2, int k, double perplexity)
{
	double beta = 1, lo = -DBL_MAX, hi = DBL_MAX, target = log(perplexity), base = d2[0];

	for (int t = 1; t < k; t++)
		if (d2[t] < base)
			base = d2[t];   /* shifted: the same distribution, no underflow */
	for (int it = 0; it < 200; it++) {
		double sum = 0, h = 0, diff;
		for (int t = 0; t < k; t++) {
			p[t] = exp(-beta * (d2[t] - base));
			sum += p[t];
		}
		for (int t = 0; t < k; t++)
			h += beta * (d2[t] - base) * p[t];
		h = h / sum + log(sum);
		diff = h - target;
		if (fabs(diff) < 1e-5)
			break;
		if (diff > 0) {
			lo = beta;
			beta = hi == DBL_MAX ? beta * 2 : (beta + hi) / 2;
		} else {
			hi = beta;
			beta = lo == -DBL_MAX ? beta / 2 : (beta + lo) / 2;
		}
	}
	double sum = 0;
	for (int t = 0; t < k; t++) {
		p[t] = exp(-beta * (d2[t] - base));
		sum += p[t];
	}
	for (int t = 0; t < k; t++)
		p[t] /= sum;
}

/* Sparse symmetric P by rows: row i is col[row[i] .. row[i+1]-1]. */
typedef struct {
	int64_t *row;    /* (n + 1) */
	int32_t *col;
	double *val;
} sparse;

/* joint_p: P = (P_cond + P_cond^T) / sum from the conditional rows of
 * nb (n, k), each sorted by index */
static void joint_p(sparse *P, const neighbour *nb, const float *X, int64_t n, int64_t d, int k,
		    double perplexity)
{
	double *pc = xmalloc_array((size_t)n, (size_t)k * sizeof *pc);
	int64_t *trow = xcalloc((size_t)n + 1, sizeof *trow), *fill;
	int32_t *tcol = xmalloc_array((size_t)n, (size_t)k * sizeof *tcol);
	double *tval = xmalloc_array((size_t)n, (size_t)k * sizeof *tval), total = 0;

	#pragma omp parallel
	{
		double *d2 = xmalloc_array((size_t)k, sizeof *d2);

		#pragma omp for schedule(dynamic, 64)
		for (int64_t i = 0; i < n; i++) {
			for (int t = 0; t < k; t++) {
				const float *a = X + i * d, *b = X + (int64_t)nb[i * k + t].j * d;
				double s = 0;
				for (int64_t u = 0; u < d; u++) {
					double e = (double)a[u] - b[u];
					s += e * e;
				}
				d2[t] = s;
			}
			row_gaussian(pc + i * k, d2, k, perplexity);
		}
		free(d2);
	}
	/* the transpose by counting: its rows come out sorted by index */
	for (int64_t i = 0; i < n * k; i++)
		trow[nb[i].j + 1]++;
	for (int64_t i = 0; i < n; i++)
		trow[i + 1] += trow[i];
	fill = xmalloc_array((size_t)n, sizeof *fill);
	memcpy(fill, trow, (size_t)n * sizeof *fill);
	for (int64_t i = 0; i < n; i++)
		for (int t = 0; t < k; t++) {
			int64_t at = fill[nb[i * k + t].j]++;
			tcol[at] = (int32_t)i;
			tval[at] = pc[i * k + t];
		}
	/* row i of P_cond merged with row i of its transpose */
	P->row = xmalloc_array((size_t)n + 1, sizeof *P->row);
	P->col = xmalloc_array((size_t)n, 2 * (size_t)k * sizeof *P->col);
	P->val = xmalloc_array((size_t)n, 2 * (size_t)k * sizeof *P->val);
	P->row[0] = 0;
	for (int64_t i = 0, e = 0; i < n; i++) {
		int a = 0;
		int64_t b = trow[i];

		while (a < k || b < trow[i + 1]) {
			int32_t ja = a < k ? nb[i * k + a].j : INT32_MAX;
			int32_t jb = b < trow[i + 1] ? tcol[b] : INT32_MAX;
			double v = 0;
			P->col[e] = ja < jb ? ja : jb;
			if (ja <= jb)
				v += pc[i * k + a++];
			if (jb <= ja)
				v += tval[b++];
			P->val[e++] = v;
		}
		P->row[i + 1] = e;
	}
	for (int64_t e = 0; e < P->row[n]; e++)
		total += P->val[e];
	for (int64_t e = 0; e < P->row[n]; e++)
		P->val[e] /= total;
	free(pc);
	free(trow);
	free(tcol);
	free(tval);
	free(fill);
}

/* ---- 4. the quadtree ---------------------------------------------------- */

/* A square cell: centre, half width; the sum of its points' positions
 * (their centre of mass once built), their count; its four children
 * (child .. child + 3, -1 for a leaf) or, in a leaf, one point. */
typedef struct {
	double mx, my;
	double cx, cy, hw;
	int32_t count, child, point, pad;
} cell;

typedef struct {
	cell *c;
	int64_t n, cap;
} quadtree;

/* tree_add4: four empty children of the cell at index p (an index: the
 * array may move), returned as the index of the first */
static int64_t tree_add4(quadtree *t, int64_t p)
{
	int64_t at = t->n;
	const cell *parent;

	if (t->n + 4 > t->cap) {
		t->cap = t->cap ? 2 * t->cap : 1024;
		t->c = xrealloc(t->c, (size_t)t->cap * sizeof *t->c);
	}
	parent = &t->c[p];
	for (int q = 0; q < 4; q++) {
		cell *k = &t->c[at + q];
		k->hw = parent->hw / 2;
		k->cx = parent->cx + (q & 1 ? k->hw : -k->hw);
		k->cy = parent->cy + (q & 2 ? k->hw : -k->hw);
		k->mx = k->my = 0;
		k->count = 0;
		k->child = -1;
		k->point = -1;
	}
	t->n += 4;
	return at;
}

static int quadrant(const cell *c, double x, double y)
{
	return (x >= c->cx) + 2 * (y >= c->cy);
}

/* tree_build: the quadtree of Y (n, 2), points inserted in index order */
static void tree_build(quadtree *t, const double *Y, int64_t n)
{
	double x0 = Y[0], x1 = Y[0], y0 = Y[1], y1 = Y[1], hw;
	cell *root;

	for (int64_t i = 1; i < n; i++) {
		x0 = fmin(x0, Y[2 * i]);
		x1 = fmax(x1, Y[2 * i]);
		y0 = fmin(y0, Y[2 * i + 1]);
		y1 = fmax(y1, Y[2 * i + 1]);
	}
	hw = fmax(x1 - x0, y1 - y0) / 2;
	hw = hw * (1 + 1e-5) + 1e-10;
	t->n = 0;
	if (t->cap == 0) {
		t->cap = 1024;
		t->c = xmalloc_array((size_t)t->cap, sizeof *t->c);
	}
	root = &t->c[t->n++];
	root->cx = (x0 + x1) / 2;
	root->cy = (y0 + y1) / 2;
	root->hw = hw;
	root->mx = root->my = 0;
	root->count = 0;
	root->child = -1;
	root->point = -1;
	for (int64_t i = 0; i < n; i++) {
		double px = Y[2 * i], py = Y[2 * i + 1];
		int64_t at = 0;

		for (int depth = 0;; depth++) {
			cell *c = &t->c[at];
			if (c->child < 0) {
				int32_t q = c->point;
				if (c->count == 0) {
					c->point = (int32_t)i;
					c->count = 1;
					c->mx = px;
					c->my = py;
					break;
				}
				if (depth >= TREE_DEPTH_MAX || (Y[2 * q] == px && Y[2 * q + 1] == py)) {
					c->count++;   /* one body: duplicates, or too deep */
					c->mx += px;
					c->my += py;
					break;
				}
				/* split: what the leaf held goes down with its point */
				int64_t ch = tree_add4(t, at);
				c = &t->c[at];
				cell *k = &t->c[ch + quadrant(c, Y[2 * q], Y[2 * q + 1])];
				k->count = c->count;
				k->mx = c->mx;
				k->my = c->my;
				k->point = q;
				c->child = (int32_t)ch;
				c->point = -1;
			}
			c->count++;
			c->mx += px;
			c->my += py;
			at = c->child + quadrant(c, px, py);
		}
	}
	for (int64_t a = 0; a < t->n; a++)
		if (t->c[a].count > 0) {
			t->c[a].mx /= t->c[a].count;
			t->c[a].my /= t->c[a].count;
		}
}

/* repulsion: the unnormalised repulsive force on the point at (x, y),
 * f = sum_j q_ij^2 (y_i - y_j), and sum_j q_ij, with q = 1 / (1 + d^2),
 * over all other points, cells far enough taken as one body. The point
 * itself (and any exact duplicate in its leaf) is at distance 0: left out
 * of the sum, as it adds no force. */
static double repulsion(const quadtree *t, double x, double y, double theta2, double *fx,
			double *fy)
{
	int32_t stack[4 * TREE_DEPTH_MAX + 8];
	int sp = 0;
	double sq = 0, ax = 0, ay = 0;

	stack[sp++] = 0;
	while (sp > 0) {
		const cell *c = &t->c[stack[--sp]];
		double dx, dy, d2, q, m;

		if (c->count == 0)
			continue;
		dx = x - c->mx;
		dy = y - c->my;
		d2 = dx * dx + dy * dy;
		if (c->child >= 0 && c->hw * c->hw >= theta2 * d2) {
			for (int k = 3; k >= 0; k--)
				stack[sp++] = c->child + k;
			continue;
		}
		if (d2 == 0) {
			/* the point's own leaf: its duplicates count, with no force */
			sq += c->count - 1;
			continue;
		}
		q = 1 / (1 + d2);
		m = c->count * q;
		sq += m;
		m *= q;
		ax += m * dx;
		ay += m * dy;
	}
	*fx = ax;
	*fy = ay;
	return sq;
}

/* ---- 5. the descent --------------------------------------------------- */

struct state {
	int64_t n;
	double *Y, *dY, *uY, *gains;   /* (n, 2) each */
	double *att, *rep;             /* (n, 2) attraction, unnormalised repulsion */
	double *sumq;                  /* (n) each point's sum of q */
	quadtree tree;
};

/* gradient: dY (n, 2) of KL(P || Q) at Y (without the factor 4, as
 * bhtsne), with P multiplied by exag */
static void gradient(struct state *s, const sparse *P, double exag, double theta)
{
	int64_t n = s->n;
	const double *Y = s->Y;
	double sumq = 0, theta2 = theta * theta;

	tree_build(&s->tree, Y, n);
	#pragma omp parallel for schedule(dynamic, 64)
	for (int64_t i = 0; i < n; i++) {
		double ax = 0, ay = 0, xi = Y[2 * i], yi = Y[2 * i + 1];

		s->sumq[i] = repulsion(&s->tree, xi, yi, theta2, &s->rep[2 * i], &s->rep[2 * i + 1]);
		for (int64_t e = P->row[i]; e < P->row[i + 1]; e++) {
			int32_t j = P->col[e];
			double dx = xi - Y[2 * j], dy = yi - Y[2 * j + 1];
			double w = P->val[e] / (1 + dx * dx + dy * dy);
			ax += w * dx;
			ay += w * dy;
		}
		s->att[2 * i] = ax;
		s->att[2 * i + 1] = ay;
	}
	for (int64_t i = 0; i < n; i++)
		sumq += s->sumq[i];
	for (int64_t i = 0; i < 2 * n; i++)
		s->dY[i] = exag * s->att[i] - s->rep[i] / sumq;
}

/* total_q: the sum of q over all pairs at Y, by the quadtree */
static double total_q(struct state *s, double theta)
{
	double sumq = 0;

	tree_build(&s->tree, s->Y, s->n);
	#pragma omp parallel for schedule(dynamic, 64)
	for (int64_t i = 0; i < s->n; i++)
		s->sumq[i] = repulsion(&s->tree, s->Y[2 * i], s->Y[2 * i + 1], theta * theta,
				       &s->rep[2 * i], &s->rep[2 * i + 1]);
	for (int64_t i = 0; i < s->n; i++)
		sumq += s->sumq[i];
	return sumq;
}

/* kl_divergence: KL(P || Q) at Y over the edges of P, Q normalised by
 * sumq (the Barnes-Hut sum of the same Y), as bhtsne evaluates it */
static double kl_divergence(struct state *s, const sparse *P, double sumq)
{
	int64_t n = s->n;
	const double *Y = s->Y;
	double kl = 0;

	#pragma omp parallel for schedule(dynamic, 64)
	for (int64_t i = 0; i < n; i++) {
		double c = 0;
		for (int64_t e = P->row[i]; e < P->row[i + 1]; e++) {
			int32_t j = P->col[e];
			double dx = Y[2 * i] - Y[2 * j], dy = Y[2 * i + 1] - Y[2 * j + 1];
			double q = 1 / (1 + dx * dx + dy * dy) / sumq, p = P->val[e];
			c += p * log((p + FLT_MIN) / (q + FLT_MIN));
		}
		s->sumq[i] = c;   /* reused as scratch: the next pass rewrites it */
	}
	for (int64_t i = 0; i < n; i++)
		kl += s->sumq[i];
	return kl;
}

static int sign(double v)
{
	return (v > 0) - (v < 0);
}

/* descend: Y (n, 2) from a random start N(0, 1e-4^2), o->iterations steps */
static void descend(struct state *s, const sparse *P, const struct options *o, double rate,
		    double t0)
{
	int64_t n = s->n;
	rng_t r;

	rng_seed(&r, o->seed);
	for (int64_t i = 0; i < 2 * n; i++) {
		s->Y[i] = 1e-4 * rng_normal(&r);
		s->uY[i] = 0;
		s->gains[i] = 1;
	}
	for (long it = 0; it < o->iterations; it++) {
		int early = it < EXAGGERATION_ITERS;
		double momentum = early ? 0.5 : 0.8, mean[2] = { 0, 0 };

		gradient(s, P, early ? EXAGGERATION : 1, o->theta);
		for (int64_t i = 0; i < 2 * n; i++) {
			double g = s->dY[i], *gain = &s->gains[i];
			/* gains grow where the step turns, shrink where it keeps on
			 * (signs as bhtsne's: 0 has its own, so all grow at first) */
			*gain = sign(g) != sign(s->uY[i]) ? *gain + 0.2 : *gain * 0.8;
			if (*gain < 0.01)
				*gain = 0.01;
			s->uY[i] = momentum * s->uY[i] - rate * *gain * g;
			s->Y[i] += s->uY[i];
		}
		for (int64_t i = 0; i < n; i++) {
			mean[0] += s->Y[2 * i];
			mean[1] += s->Y[2 * i + 1];
		}
		mean[0] /= (double)n;
		mean[1] /= (double)n;
		for (int64_t i = 0; i < n; i++) {
			s->Y[2 * i] -= mean[0];
			s->Y[2 * i + 1] -= mean[1];
		}
		if (o->verbose && ((it + 1) % 50 == 0 || it + 1 == o->iterations))
			fprintf(stderr, "tsne: iteration %ld: KL divergence %.6f (%.1f s)\n",
				it + 1, kl_divergence(s, P, total_q(s, o->theta)),
				now_seconds() - t0);
	}
}

int main(int argc, char **argv)
{
	struct options o = { .perplexity = 30, .iterations = 1000, .theta = 0.5, .seed = 1 };
	struct state s = { 0 };
	shape_t point = { 1, { 2 } };
	neighbour *nb;
	sparse P;
	output *out;
	float *X;
	int64_t n, d;
	double t0 = now_seconds(), rate;
	int k;

	cli_init(argc, argv, "tsne");
	cli_wait_policy(argv);
	parse_args(argc, argv, &o);
	nn_set_threads(o.threads ? o.threads : (int)sysconf(_SC_NPROCESSORS_ONLN));
	kern_set_precision(KERN_FP32);
	X = load_points(o.file, &n, &d);
	if ((double)(n - 1) < 3 * o.perplexity)
		die("perplexity %g is too large for %" PRId64 " samples: 3 x perplexity "
		    "must be at most N - 1, so at most %g (%s)", o.perplexity, n,
		    floor((double)(n - 1) / 3 * 100) / 100, cli_is_stdin(o.file) ? "stdin" : o.file);
	k = (int)(3 * o.perplexity);
	rate = o.rate > 0 ? o.rate : fmax(200, (double)n / EXAGGERATION);
	nb = xmalloc_array((size_t)n, (size_t)k * sizeof *nb);
	nearest(nb, X, n, d, k);
	joint_p(&P, nb, X, n, d, k, o.perplexity);
	free(nb);
	free(X);
	if (o.verbose)
		fprintf(stderr, "tsne: %" PRId64 " points of %" PRId64 " values, %d neighbours, "
			"%" PRId64 " pairs in P (%.1f s); learning rate %g\n", n, d, k,
			P.row[n], now_seconds() - t0, rate);
	s.n = n;
	s.Y = xmalloc_array((size_t)n, 2 * sizeof *s.Y);
	s.dY = xmalloc_array((size_t)n, 2 * sizeof *s.dY);
	s.uY = xmalloc_array((size_t)n, 2 * sizeof *s.uY);
	s.gains = xmalloc_array((size_t)n, 2 * sizeof *s.gains);
	s.att = xmalloc_array((size_t)n, 2 * sizeof *s.att);
	s.rep = xmalloc_array((size_t)n, 2 * sizeof *s.rep);
	s.sumq = xmalloc_array((size_t)n, sizeof *s.sumq);
	descend(&s, &P, &o, rate, t0);
	out = output_open(stdout, 0, DT_F32, &point);
	for (int64_t i = 0; i < n; i++) {
		float y[2] = { (float)s.Y[2 * i], (float)s.Y[2 * i + 1] };
		output_write(out, y);
	}
	output_close(out);
	free(P.row);
	free(P.col);
	free(P.val);
	free(s.Y);
	free(s.dY);
	free(s.uY);
	free(s.gains);
	free(s.att);
	free(s.rep);
	free(s.sumq);
	free(s.tree.c);
	return 0;
}
