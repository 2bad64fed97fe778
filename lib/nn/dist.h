/* dist.h: data-parallel training over MPI (man 7 segpipe-mpi); the only
 * part of libtensor that knows MPI (dist.c includes mpi.h).
 *
 * A process started by mpirun (OpenMPI's OMPI_COMM_WORLD_SIZE, or a PMI
 * launcher's PMI_SIZE / PMIX_RANK, in the environment) joins the job at
 * dist_init; any other process never starts MPI and is rank 0 of 1.
 *
 * Sums over the chunks of a batch go by the fixed tree of ctree.h: each
 * rank computes its run of chunks (dist_chunks), sums them into the nodes
 * that cover the run, and the nodes are combined into the root by the
 * same tree, a slice of the vector per rank (reduce-scatter by MPI_Alltoallv,
 * then MPI_Allgatherv). The bytes of the sum depend on the chunks only,
 * never on the rank count or MPI's algorithms. */
#ifndef SEGPIPE_DIST_H
#define SEGPIPE_DIST_H

#include <stddef.h>

/* dist_init: join the MPI job when launched by mpirun (once; later calls
 * do nothing). On a rank other than 0, progname becomes "NAME (rank R)". */
void dist_init(void);
/* dist_finalize: leave the job (MPI_Finalize) after a normal end. */
void dist_finalize(void);
int dist_rank(void);
int dist_size(void);
/* dist_cpus: the default thread count: the online processors; under
 * mpirun, those of the host shared out over its ranks, and no more than
 * the processors the rank is bound to. */
int dist_cpus(void);

/* dist_chunks: this rank's run [*lo, *hi) of chunks 0..K-1: the ranks
 * take contiguous runs of K/size or K/size + 1 chunks, in rank order
 * (empty ones when there are more ranks than chunks). */
void dist_chunks(int K, int *lo, int *hi);

/* dist_leaf: chunk k's vector of n floats into out */
typedef void (*dist_leaf)(void *ctx, int k, float *out);

/* dist_sum: the sum over the chunks 0..K-1 of leaf(k), by the fixed tree,
 * into out (n floats) on every rank; leaf is called for this rank's chunks
 * only, in order. A collective: every rank calls it with the same K, n. */
void dist_sum(int K, size_t n, dist_leaf leaf, void *ctx, float *out);

/* dist_share: v (n doubles) where rank r computed the entries of its share
 * [n r / size, n (r + 1) / size): every rank gets every rank's entries. */
void dist_share(double *v, int n);

/* dist_any: 1 on every rank if x is nonzero on any (a stop asked of one
 * rank, by a signal, is every rank's at the same batch); x without mpirun */
int dist_any(int x);

/* dist_max: the largest x of every rank's (x without mpirun) */
long dist_max(long x);

/* dist_same: every rank passes the same x (a check of the options and the
 * data); dies naming what differs, on every rank. */
void dist_same(long x, const char *what);

/* the communication so far (this rank): seconds waiting in MPI calls, and
 * bytes sent plus received */
double dist_comm_seconds(void);
double dist_comm_bytes(void);

#endif
