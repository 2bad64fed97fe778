/* util.c: the one error routine, checked allocation, seeded random numbers. */
#define _GNU_SOURCE
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util.h"

const char *progname = "segpipe";
void (*die_hook)(void);

void atomic_cleanup(void);   /* atomic.c: remove an unfinished temporary file */

static void vmessage(const char *fmt, va_list ap)
{
	int saved = errno;
	size_t len = strlen(fmt);

	fprintf(stderr, "%s: ", progname);
	vfprintf(stderr, fmt, ap);
	if (len > 0 && fmt[len - 1] == ':')
		fprintf(stderr, " %s", strerror(saved));
	fputc('\n', stderr);
}

/* One ending for every error, from any thread: the first thread to fail
 * takes die_lock and keeps it, so a second one (every worker of an OpenMP
 * parallel region can run out of memory at once) waits there until the
 * process ends and its message is never printed. The process then ends
 * with _exit, not exit(): exit() runs the libraries' destructors, and
 * OpenBLAS's joins its thread, which hangs when that thread is stuck (it
 * is, when memory ran out) and can crash while other threads still
 * compute. On the main thread outside a parallel region the output streams
 * are flushed first, as exit() would (the lines a tool wrote before the
 * error); a thread that fails mid-computation flushes nothing, so nothing
 * half-done is written. Either way the registered temporary file is
 * removed first. An exit that skips the destructors also skips
 * LeakSanitizer's check, which is noise on an error path (make sanitize);
 * the fuzz targets, which go on after die(), still check every error path
 * for leaks. */
static pthread_mutex_t die_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic pid_t dying;   /* the thread in die() or usage_die(), 0 when none */

static void error_enter(void)
{
	pid_t self = gettid();

	if (atomic_load(&dying) == self)
		_exit(1);   /* failed again while failing: the first message stands */
	pthread_mutex_lock(&die_lock);
	atomic_store(&dying, self);
}

static noreturn void error_exit(int code)
{
	atomic_cleanup();
	if (gettid() == getpid() && !omp_in_parallel())
		fflush(NULL);
	else
		fflush(stderr);
	_exit(code);
}

void die(const char *fmt, ...)
{
	va_list ap;

	error_enter();
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	if (die_hook && gettid() == getpid() && !omp_in_parallel()) {
		/* the fuzzing harness longjmps out of the hook and goes on */
		atomic_cleanup();
		atomic_store(&dying, 0);
		pthread_mutex_unlock(&die_lock);
		die_hook();
	}
	error_exit(1);
}

void usage_die(const char *fmt, ...)
{
	va_list ap;

	error_enter();
	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help' for more information.\n", progname);
	error_exit(2);
}

void warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage(fmt, ap);
	va_end(ap);
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		die("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

void *xmalloc_array(size_t n, size_t size)
{
	if (size && n > SIZE_MAX / size)
		die("out of memory (%zu x %zu bytes)", n, size);
	return xmalloc(n * size);
}

/* threads_startable: the threads of a probe wait here until all are made */
static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t probe_cond = PTHREAD_COND_INITIALIZER;
static int probe_over;

static void *probe_wait(void *arg)
{
	pthread_mutex_lock(&probe_lock);
	while (!probe_over)
		pthread_cond_wait(&probe_cond, &probe_lock);
	pthread_mutex_unlock(&probe_lock);
	return arg;
}

int threads_startable(int n, int *err)
{
	pthread_t *t = xmalloc_array(n > 1 ? (size_t)n - 1 : 1, sizeof *t);
	int k;

	*err = 0;
	probe_over = 0;
	/* n - 1 threads beside this one, all alive at once, with the default
	 * attributes (an OpenMP team's, unless OMP_STACKSIZE says otherwise) */
	for (k = 0; k < n - 1; k++)
		if ((*err = pthread_create(&t[k], NULL, probe_wait, NULL)) != 0)
			break;
	pthread_mutex_lock(&probe_lock);
	probe_over = 1;
	pthread_cond_broadcast(&probe_cond);
	pthread_mutex_unlock(&probe_lock);
	for (int i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	free(t);
	return k + 1;
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void rng_seed(rng_t *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

void rng_seed_at(rng_t *r, uint64_t seed, uint64_t index)
{
	uint64_t x = seed;

	rng_seed(r, splitmix64(&x) ^ index);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/* xoshiro256** by Blackman and Vigna (public domain reference algorithm) */
uint64_t rng_next(rng_t *r)
{
	uint64_t *s = r->s, result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(rng_t *r)
{
	return (rng_next(r) >> 11) * 0x1.0p-53;
}

uint64_t rng_below(rng_t *r, uint64_t n)
{
	uint64_t limit, x;

	if (n <= 1)
		return 0;
	limit = UINT64_MAX - UINT64_MAX % n;
	do
		x = rng_next(r);
	while (x >= limit);
	return x % n;
}

float rng_normal(rng_t *r)
{
	double u1 = 1.0 - rng_uniform(r), u2 = rng_uniform(r);

	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

void rng_shuffle(rng_t *r, int64_t *idx, int64_t n)
{
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)rng_below(r, (uint64_t)i + 1), t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

int launched_by_mpirun(void)
{
	return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMI_SIZE") || getenv("PMIX_RANK");
}
