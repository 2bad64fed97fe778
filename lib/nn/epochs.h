/* epochs.h: the trainers' epoch bookkeeping: which samples validate, the
 * order of each epoch, its learning rate (the history file: history.h). */
#ifndef SEGPIPE_EPOCHS_H
#define SEGPIPE_EPOCHS_H

#include <stdint.h>

/* holdout_split: a seeded order of the n samples (batch.h's split_indices);
 * with frac > 0 its last floor(frac n) samples validate: *nval of them,
 * *ntrain before them. Dies when either part would be empty. */
int64_t *holdout_split(int64_t n, double frac, uint64_t seed, int64_t *ntrain, int64_t *nval);

/* epoch_order: a new array, order (n) shuffled by a generator seeded from
 * seed and epoch (from 0) alone: an epoch's order does not depend on the
 * epochs before it, so a resumed run trains as an uninterrupted one. */
int64_t *epoch_order(const int64_t *order, int64_t n, uint64_t seed, int epoch);

/* The sharded order of a data-parallel run (man 7 segpipe-mpi): with K
 * chunks per batch, the ntrain training samples (order[0..ntrain-1]),
 * taken in ascending stream index, are cut into K contiguous shards, shard
 * k as many as chunk k takes in an epoch of batches of batch (the last one
 * short): shard_start(k) = floor(ntrain / batch) floor(batch k / K) +
 * floor((ntrain mod batch) k / K). Every epoch each shard is shuffled on
 * its own and chunk k of every batch takes the next samples of shard k, so
 * that a rank needs the samples of its chunks' shards alone. */

/* shard_start: where shard k of K (k = K: the end) starts among the
 * training samples in ascending order */
int64_t shard_start(int64_t ntrain, int batch, int K, int k);

/* shard_samples: a new array of the training samples of shards klo..khi-1,
 * ascending stream indices, *count of them */
int64_t *shard_samples(const int64_t *order, int64_t ntrain, int batch, int K, int klo, int khi,
		       int64_t *count);

/* epoch_order_sharded: a new array, the epoch's order of the ntrain
 * samples for K chunks: shard k's samples in their order in order,
 * shuffled by a generator seeded from seed, epoch and k (shard 0 as
 * epoch_order seeds it), dealt out to chunk k of the batches in turn. With
 * K = 1 it is epoch_order(order, ntrain, seed, epoch). */
int64_t *epoch_order_sharded(const int64_t *order, int64_t ntrain, int batch, int K,
			     uint64_t seed, int epoch);

/* epoch_lr: the learning rate of epoch (from 0) of epochs: lr itself, or
 * with cosine lr * (1 + cos(pi epoch / epochs)) / 2, from lr at the first
 * epoch down towards 0 at the last (Loshchilov and Hutter's SGDR without
 * restarts, a step per epoch). */
double epoch_lr(double lr, int cosine, int epoch, int epochs);

#endif
