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

/* epoch_lr: the learning rate of epoch (from 0) of epochs: lr itself, or
 * with cosine lr * (1 + cos(pi epoch / epochs)) / 2, from lr at the first
 * epoch down towards 0 at the last (Loshchilov and Hutter's SGDR without
 * restarts, a step per epoch). */
double epoch_lr(double lr, int cosine, int epoch, int epochs);

#endif
