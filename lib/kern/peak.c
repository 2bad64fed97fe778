/* peak.c: the arithmetic peak of each unit on one core, measured by loops
 * of independent multiply-adds on registers (no memory traffic), for
 * bench/peak and the benchmark's "fraction of peak": fp32 FMA with AVX-512
 * and AVX2, bf16 dot products with AVX512-BF16 and with AMX tiles. Each
 * returns GFLOP/s (2 per multiply-add) over about `seconds`, or 0 where the
 * CPU lacks the unit. */
#include <immintrin.h>
#include <string.h>
#include <time.h>

#include "amx.h"
#include "kern.h"

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);   /* the core's time, not the wall's: steady on a shared machine */
	return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define REPS 4096

/* PEAK_LOOP: 12 independent chains of the unit's multiply-add OP (a[i] =
 * OP(a[i], x, y)) on vectors of type V, timed for `seconds`; FLOP per
 * operation per chain, the result in GFLOP/s (the sum stays live) */
#define PEAK_LOOP(V, SET1, OP, REDUCE, FLOP)                                           \
	do {                                                                           \
		V a[12];                                                               \
		long n = 0;                                                            \
		double t0 = now(), t;                                                  \
		for (int i = 0; i < 12; i++)                                           \
			a[i] = SET1((float)i);                                         \
		do {                                                                   \
			for (int r = 0; r < REPS; r++)                                 \
				_Pragma("GCC unroll 12") for (int i = 0; i < 12; i++)  \
					a[i] = OP(a[i], x, y);                         \
			n += REPS;                                                     \
			t = now() - t0;                                                \
		} while (t < seconds);                                                 \
		float s = 0;                                                           \
		for (int i = 0; i < 12; i++)                                           \
			s += REDUCE(a[i]);                                             \
		__asm__ volatile("" : : "x"(s));                                       \
		return (double)(FLOP) * 12 * n / t / 1e9;                              \
	} while (0)

__attribute__((target("avx512f,fma")))
static double fma512(double seconds)
{
	__m512 x = _mm512_set1_ps(0.999999f), y = _mm512_set1_ps(1e-7f);

	PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, 2 * 16);
}

__attribute__((target("avx2,fma")))
static float sum256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehl_ps(s, s)));
}

__attribute__((target("avx2,fma")))
static double fma256(double seconds)
{
	__m256 x = _mm256_set1_ps(0.999999f), y = _mm256_set1_ps(1e-7f);

	PEAK_LOOP(__m256, _mm256_set1_ps, _mm256_fmadd_ps, sum256, 2 * 8);
}

__attribute__((target("avx512f,avx512bf16")))
static double dpbf16(double seconds)
{
	__m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80);
	__m512bh y = (__m512bh)_mm512_set1_epi32(0x33003300);

	PEAK_LOOP(__m512, _mm512_set1_ps, _mm512_dpbf16_ps, _mm512_reduce_add_ps, 2 * 32);
}

__attribute__((target("amx-tile,amx-bf16")))
static double amx(double seconds)
{
	static uint16_t buf[16 * 32] __attribute__((aligned(64)));
	long n = 0;
	double t0 = now(), t;

	for (int i = 0; i < 16 * 32; i++)
		buf[i] = 0x3f80;
	amx_configure(8);
	_tile_zero(0);
	_tile_zero(1);
	_tile_zero(2);
	_tile_zero(3);
	_tile_loadd(4, buf, 64);
	_tile_loadd(5, buf, 64);
	_tile_loadd(6, buf, 64);
	_tile_loadd(7, buf, 64);
	do {
		for (int r = 0; r < REPS / 16; r++) {
			_tile_dpbf16ps(0, 4, 6);
			_tile_dpbf16ps(1, 4, 7);
			_tile_dpbf16ps(2, 5, 6);
			_tile_dpbf16ps(3, 5, 7);
		}
		n += REPS / 16;
		t = now() - t0;
	} while (t < seconds);
	_tile_release();
	return 2.0 * 16 * 16 * 32 * 4 * n / t / 1e9;
}

double kern_peak_gflops(const char *unit, double seconds)
{
	kern_init();
	if (strcmp(unit, "fp32-avx512") == 0)
		return kern_can_run(KPATH_AVX512) ? fma512(seconds) : 0;
	if (strcmp(unit, "fp32-avx2") == 0)
		return kern_can_run(KPATH_AVX2) ? fma256(seconds) : 0;
	if (strcmp(unit, "bf16-avx512") == 0)
		return kern_can_run(KPATH_AVX512_BF16) ? dpbf16(seconds) : 0;
	if (strcmp(unit, "bf16-amx") == 0)
		return kern_can_run(KPATH_AMX) ? amx(seconds) : 0;
	return 0;
}
