/* dist.c: data-parallel training over MPI (see dist.h); the one file of
 * libtensor that includes mpi.h. */
#define _GNU_SOURCE   /* sched_getaffinity */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mpi.h>

#include "ctree.h"
#include "dist.h"
#include "nn.h"
#include "util.h"

static int active, rank, size = 1;
static double comm_seconds, comm_bytes;

void dist_init(void)
{
	static char name[128];
	int provided;

	if (active || !launched_by_mpirun())
		return;
	/* OpenMP threads compute; only the main thread calls MPI */
	MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
	active = 1;
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	if (rank > 0) {
		snprintf(name, sizeof name, "%s (rank %d)", progname, rank);
		progname = name;
	}
}

void dist_finalize(void)
{
	if (!active)
		return;
	MPI_Finalize();
	active = 0;
}

int dist_rank(void) { return rank; }
int dist_size(void) { return size; }

int dist_cpus(void)
{
	const char *s = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
	int local = s ? atoi(s) : 1, n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	cpu_set_t set;

	if (!active)
		return n;
	/* the host's processors shared out over its ranks, and no more than
	 * mpirun bound this one to */
	if (local > 1)
		n /= local;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < n)
		n = CPU_COUNT(&set);
	return n > 1 ? n : 1;
}

/* share: where rank r's share of n items starts */
static long share(long n, int r, int R)
{
	return n * r / R;
}

void dist_chunks(int K, int *lo, int *hi)
{
	*lo = (int)share(K, rank, size);
	*hi = (int)share(K, rank + 1, size);
}

/* ---- the sum over chunks ---- */

/* a rank's leaves: computed by the caller's function */
typedef struct {
	dist_leaf leaf;
	void *ctx;
} leaves;

static int get_leaf(void *ctx, int level, int index, float *out)
{
	const leaves *l = ctx;

	if (level > 0)
		return 0;
	l->leaf(l->ctx, index, out);
	return 1;
}

/* the nodes every rank sent, each a slice of len floats in buf */
typedef struct {
	int count;
	ctree_node *node;
	const float *buf;
	size_t len;
} received;

static int get_received(void *ctx, int level, int index, float *out)
{
	const received *r = ctx;

	for (int j = 0; j < r->count; j++)
		if (r->node[j].level == level && r->node[j].index == index) {
			memcpy(out, r->buf + (size_t)j * r->len, r->len * sizeof(float));
			return 1;
		}
	return 0;
}

static int count_of(size_t n)
{
	if (n > INT_MAX)
		die("a message of %zu floats is more than MPI's counts hold", n);
	return (int)n;
}

void dist_sum(int K, size_t n, dist_leaf leaf, void *ctx, float *out)
{
	int D = ctree_depth(K), lo, hi, mine, total = 0;
	leaves l = { leaf, ctx };
	ctree_node (*cov)[CTREE_COVER_MAX];
	int *ncov, *scount, *sdispl, *rcount, *rdispl;
	float *tmp = xmalloc_array((size_t)(D ? D : 1) * n, sizeof(float));
	float *nodes, *send, *recv, *slice;
	size_t s0, s1, len;
	received got;
	double t0;

	if (!active) {
		/* one process: the root from the leaves */
		ctree_eval(K, D, 0, n, out, get_leaf, &l, tmp);
		free(tmp);
		return;
	}
	/* every rank's cover, so each knows which nodes it receives */
	cov = xmalloc_array((size_t)size, sizeof *cov);
	ncov = xmalloc_array((size_t)size, sizeof *ncov);
	for (int r = 0; r < size; r++) {
		ncov[r] = ctree_cover(K, (int)share(K, r, size), (int)share(K, r + 1, size), cov[r]);
		total += ncov[r];
	}
	dist_chunks(K, &lo, &hi);
	mine = ncov[rank];
	/* this rank's nodes, from its leaves */
	nodes = xmalloc_array((size_t)(mine ? mine : 1) * n, sizeof(float));
	for (int j = 0; j < mine; j++)
		ctree_eval(K, cov[rank][j].level, cov[rank][j].index, n, nodes + (size_t)j * n,
			   get_leaf, &l, tmp);
	/* slice s of the vector, [n s / size, n (s + 1) / size), is combined
	 * by rank s: to it go the slices s of every node */
	scount = xmalloc_array((size_t)size * 4, sizeof(int));
	sdispl = scount + size;
	rcount = sdispl + size;
	rdispl = rcount + size;
	send = xmalloc_array((size_t)(mine ? mine : 1) * n, sizeof(float));
	len = (size_t)(share((long)n, rank + 1, size) - share((long)n, rank, size));
	recv = xmalloc_array((size_t)total * (len ? len : 1), sizeof(float));
	{
		size_t at = 0, rat = 0;
		for (int s = 0; s < size; s++) {
			s0 = (size_t)share((long)n, s, size);
			s1 = (size_t)share((long)n, s + 1, size);
			sdispl[s] = count_of(at);
			for (int j = 0; j < mine; j++, at += s1 - s0)
				memcpy(send + at, nodes + (size_t)j * n + s0, (s1 - s0) * sizeof(float));
			scount[s] = count_of(at) - sdispl[s];
			rdispl[s] = count_of(rat);
			rcount[s] = count_of((size_t)ncov[s] * len);
			rat += (size_t)ncov[s] * len;
		}
	}
	t0 = MPI_Wtime();
	MPI_Alltoallv(send, scount, sdispl, MPI_FLOAT, recv, rcount, rdispl, MPI_FLOAT,
		      MPI_COMM_WORLD);
	comm_seconds += MPI_Wtime() - t0;
	for (int s = 0; s < size; s++)
		comm_bytes += 4.0 * ((s != rank ? scount[s] : 0) + (s != rank ? rcount[s] : 0));
	/* the root of this rank's slice, from the nodes in rank (= chunk) order */
	got.count = total;
	got.node = xmalloc_array((size_t)(total ? total : 1), sizeof *got.node);
	got.buf = recv;
	got.len = len;
	for (int r = 0, j = 0; r < size; r++)
		for (int c = 0; c < ncov[r]; c++)
			got.node[j++] = cov[r][c];
	slice = out + share((long)n, rank, size);
	if (len)
		ctree_eval(K, D, 0, len, slice, get_received, &got, tmp);
	/* and every slice to every rank */
	for (int s = 0; s < size; s++) {
		rcount[s] = count_of((size_t)(share((long)n, s + 1, size) - share((long)n, s, size)));
		rdispl[s] = count_of((size_t)share((long)n, s, size));
	}
	t0 = MPI_Wtime();
	MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, rcount, rdispl, MPI_FLOAT,
		       MPI_COMM_WORLD);
	comm_seconds += MPI_Wtime() - t0;
	comm_bytes += 4.0 * ((double)(size - 1) * len + (double)(n - len));
	free(got.node);
	free(recv);
	free(send);
	free(scount);
	free(nodes);
	free(ncov);
	free(cov);
	free(tmp);
}

void dist_share(double *v, int n)
{
	int *count, *displ;
	double t0;

	if (!active)
		return;
	count = xmalloc_array((size_t)size * 2, sizeof(int));
	displ = count + size;
	for (int r = 0; r < size; r++) {
		displ[r] = (int)share(n, r, size);
		count[r] = (int)share(n, r + 1, size) - displ[r];
	}
	t0 = MPI_Wtime();
	MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, v, count, displ, MPI_DOUBLE,
		       MPI_COMM_WORLD);
	comm_seconds += MPI_Wtime() - t0;
	comm_bytes += 8.0 * n;
	free(count);
}

int dist_any(int x)
{
	int y = 0;

	if (!active)
		return x != 0;
	x = x != 0;
	MPI_Allreduce(&x, &y, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
	return y;
}

long dist_max(long x)
{
	long y = x;

	if (!active)
		return x;
	MPI_Allreduce(&x, &y, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
	return y;
}

void dist_same(long x, const char *what)
{
	long lo, hi;

	if (!active)
		return;
	MPI_Allreduce(&x, &lo, 1, MPI_LONG, MPI_MIN, MPI_COMM_WORLD);
	MPI_Allreduce(&x, &hi, 1, MPI_LONG, MPI_MAX, MPI_COMM_WORLD);
	if (lo != hi)
		die("the ranks differ in %s (%ld here, from %ld to %ld over the %d ranks)", what, x,
		    lo, hi, size);
}

double dist_comm_seconds(void) { return comm_seconds; }
double dist_comm_bytes(void) { return comm_bytes; }
