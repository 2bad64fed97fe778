/* amx.c: the bf16 microkernel on AMX tiles, MR 16 x NR 64.
 *
 * Tiles 0-3 hold the 16 x 64 fp32 tile of C (four 16 x 16), tile 4 the
 * A panel's 16 rows x 32 K (PACK_BF16_ROWS: 64 bytes a row), tiles 5 and 6
 * take turns with B: 16 pairs of K x 16 columns (PACK_BF16_PAIRS, so one
 * K pair of the 64-column panel is 256 bytes, the tiles' row stride). One
 * TDPBF16PS does 16 x 16 x 32 multiply-adds. */
#include <immintrin.h>
#include <string.h>

#include "amx.h"
#include "avx512.h"
#include "ukr.h"

#define MR 16
#define NR 64
#define KB 32                         /* K per tile */

/* the tile configuration, loaded once per thread */
static void thread_init(void)
{
	amx_configure(8);
}

static void ukr(int kc, const void *Ap, const void *Bp, long ldb, float *C, long ldc, int acc,
		int mr, int nr)
{
	(void)mr;
	(void)nr;
	const uint16_t *a = Ap, *b = Bp;
	(void)ldb;
	long sc = ldc * (long)sizeof(float), sb = 2 * NR * sizeof(uint16_t);

	if (acc) {
		_tile_loadd(0, C, sc);
		_tile_loadd(1, C + 16, sc);
		_tile_loadd(2, C + 32, sc);
		_tile_loadd(3, C + 48, sc);
	} else {
		_tile_zero(0);
		_tile_zero(1);
		_tile_zero(2);
		_tile_zero(3);
	}
	for (int k = 0; k < kc; k += KB, a += MR * KB, b += KB * NR) {
		_tile_loadd(4, a, KB * sizeof(uint16_t));
		_tile_loadd(5, b, sb);
		_tile_dpbf16ps(0, 4, 5);
		_tile_loadd(6, b + 32, sb);
		_tile_dpbf16ps(1, 4, 6);
		_tile_loadd(5, b + 64, sb);
		_tile_dpbf16ps(2, 4, 5);
		_tile_loadd(6, b + 96, sb);
		_tile_dpbf16ps(3, 4, 6);
	}
	_tile_stored(0, C, sc);
	_tile_stored(1, C + 16, sc);
	_tile_stored(2, C + 32, sc);
	_tile_stored(3, C + 48, sc);
}

/* A's rows along K into 32-wide chunks of bf16 rows (PACK_BF16_ROWS):
 * each chunk of a row is 32 floats converted at once; rows past n zero */
static void pack_rows(void *dst, int width, const float *src, long ld, int n, int kc, int kcp)
{
	uint16_t *d = dst;

	for (int k0 = 0; k0 < kcp; k0 += KB) {
		__mmask16 lo = half(kc - k0, 0), hi = half(kc - k0, 1);
		for (int r = 0; r < width; r++) {
			__m512i v = _mm512_setzero_si512();
			if (r < n) {
				const float *s = src + (long)r * ld + k0;
				v = (__m512i)_mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(hi, s + 16),
								 _mm512_maskz_loadu_ps(lo, s));
			}
			_mm512_store_si512(d + ((long)(k0 / KB) * width + r) * KB, v);
		}
	}
}

const kern_ukr kern_amx_bf16 = {
	.name = "amx", .mr = MR, .nr = NR, .kalign = KB, .a_fmt = PACK_BF16_ROWS,
	.b_fmt = PACK_BF16_PAIRS, .ukr = ukr, .thread_init = thread_init, .a_pack_t = pack_rows,
	.b_pack_t = kern_pack_t_pairs_avx512bf16, .b_pack_n = kern_pack_n_pairs_avx512bf16,
};
