/* util.h: errors, allocation, the program's name. One error routine for all tools. */
#ifndef SEGPIPE_UTIL_H
#define SEGPIPE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>

extern const char *progname;   /* set by cli_init(); prefixes every message */

/* die: print "progname: MSG" (and ": strerror(errno)" when fmt ends in ':')
 * on stderr, remove any registered temporary file, exit 1. */
noreturn void die(const char *fmt, ...);
/* die_hook: when set, die() calls it after printing, before exiting; a
 * fuzzing harness longjmps out of it to go on with the next input. */
extern void (*die_hook)(void);
/* usage_die: the same, exit 2, with a hint to try --help. */
noreturn void usage_die(const char *fmt, ...);
/* warnx: the message without exiting. */
void warnx(const char *fmt, ...);

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* xmalloc_array: n*size with overflow check. */
void *xmalloc_array(size_t n, size_t size);

/* threads_startable: how many of n threads (this one counted) the process
 * can run at once, found by starting them and letting them end: n, or fewer
 * with pthread_create's error in err. OpenMP ends a process that cannot
 * make its team with its own message; this asks first. */
int threads_startable(int n, int *err);

/* Deterministic random numbers: splitmix64-seeded xoshiro256**. */
typedef struct { uint64_t s[4]; } rng_t;
void rng_seed(rng_t *r, uint64_t seed);
/* rng_seed_at: the generator of item index under seed, the same whichever
 * thread or order draws it: a tool that randomises samples one by one seeds
 * each from (seed, its position), so a slice of the stream gets the same
 * draws as it did in the whole. */
void rng_seed_at(rng_t *r, uint64_t seed, uint64_t index);
uint64_t rng_next(rng_t *r);
double rng_uniform(rng_t *r);              /* [0,1) */
uint64_t rng_below(rng_t *r, uint64_t n);  /* uniform 0..n-1, unbiased */
float rng_normal(rng_t *r);                /* standard normal (Box-Muller) */
void rng_shuffle(rng_t *r, int64_t *idx, int64_t n); /* Fisher-Yates */

/* launched_by_mpirun: the launchers' own variables are set (OpenMPI, PMI,
 * PMIx): the process is one rank of an MPI job (lib/nn/dist.c) */
int launched_by_mpirun(void);

#endif
