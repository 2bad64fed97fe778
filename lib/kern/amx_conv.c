/* amx_conv.c: the direct 3x3 convolution (zero padding 1) on AMX tiles,
 * G images at a time as one tall image (grid_of): bf16 products, fp32
 * sums, no im2col, no Winograd.
 *
 * An image sits in a padded grid of H+2 rows of Wp = W+2 columns, flattened:
 * q = (y+1) Wp + (x+1). Output q takes tap (ky,kx) from input q + (ky-1) Wp
 * + (kx-1), so 16 consecutive outputs read 16 consecutive inputs for every
 * tap, and a tile row is one load. On planes under 16 wide every q of
 * rows 1..H is computed, the two pad columns too (their values are
 * dropped, 2/Wp of the work, by put); from 16 wide the forward's q tiles
 * are runs of real pixels of one row (forward_rows). Each
 * channel's plane has a zero margin of OFF before q = 0 and enough after
 * the grid for the last tiles' reads.
 *
 * Forward, per tap: C (16 co x 16 q) += A (16 co x 32 ci: the weights,
 * packed by conv.c) B (16 channel pairs x 16 q). B comes from the input in
 * channel pairs, X[cp][q] = (x[2cp][q], x[2cp+1][q]), one pair plane after
 * another: a B tile is 16 planes' runs of 16 q. Four C tiles cover 64 q.
 *
 * Weight gradient, per tap: C (16 ci x 16 co) += A (16 ci x 32 q: rows of
 * the input in bf16, Xr[ci][q + offset]) B (16 q pairs x 16 co: the output
 * gradient in pairs of q, D[k][co] = (d[co][2k], d[co][2k+1]) counted from
 * q = Wp, zero at the pad columns so they add nothing). */
#include <immintrin.h>
#include <string.h>

#include "amx.h"
#include "avx512.h"
#include "ukr.h"

#define OFF 32                       /* zero margin before q = 0 (elements) */

typedef struct {
	int Wp, L, PS;                       /* grid width, q's computed, plane stride */
	int H;                               /* rows of one image; H + 1 a grid row period */
} grid;

/* G images of H x W, one after another in each channel's plane, as one
 * tall image: their rows with one zero row between two images, which is
 * the bottom padding of the one and the top padding of the next, so the
 * tall image's convolution is each image's. Its grid has Ht = G (H + 1)
 * - 1 rows; grid row r >= 1 is tall row y = r - 1, a separator where
 * y % (H + 1) == H, else row y % (H + 1) of image y / (H + 1). */
static int tall_rows(int H, int G)
{
	return G * (H + 1) - 1;
}

/* the grid of G images H x W whose computed run of L = Ht Wp outputs is
 * read in blocks of blk */
static grid grid_of(int H, int W, int G, int blk)
{
	grid g;

	g.Wp = W + 2;
	g.H = H;
	g.L = tall_rows(H, G) * g.Wp;
	int Lr = (g.L + blk - 1) / blk * blk;
	g.PS = (OFF + 2 * g.Wp + Lr + 1 + 15) / 16 * 16;
	return g;
}

static __thread void *xbuf, *dbuf, *tbuf;
static __thread size_t xcap, dcap, tcap;

static void ready(void)
{
	static __thread int configured;

	if (!configured) {
		amx_configure(8);
		configured = 1;
	}
}

/* 16 floats to bf16 in the low halves of 16 words */
static inline __m512i bf16_words(__m512 v)
{
	return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v));
}

/* one step of a 2x2 block: A tiles 4, 5 from a0, a1 (row stride sa bytes),
 * B tiles 6, 7 from b0, b1 (sb), C tiles 0..3 += A x B, each tile loaded
 * used twice */
static inline __attribute__((always_inline)) void step_2x2(const void *a0, const void *a1,
							    long sa, const void *b0,
							    const void *b1, long sb)
{
	_tile_loadd(4, a0, sa);
	_tile_loadd(5, a1, sa);
	_tile_loadd(6, b0, sb);
	_tile_loadd(7, b1, sb);
	_tile_dpbf16ps(0, 4, 6);
	_tile_dpbf16ps(1, 4, 7);
	_tile_dpbf16ps(2, 5, 6);
	_tile_dpbf16ps(3, 5, 7);
}

/* the grid rows of one plane: `lead` zeros, the Ht rows of G images H x W
 * of a (one after another), each [0, W pixels, 0], a separator all zeros,
 * then zeros up to `total` elements of es bytes: 4, bf16 pairs of a's and
 * b's pixels (b NULL: zeros); 2, a's pixels in bf16 */
/* one step of a 1x4 block: tiles 0..3 += the A tile at a (16 rows, 64
 * bytes apart) times the B tiles at b0..b3 (rows sb bytes apart) */
static inline __attribute__((always_inline)) void step_1x4(const void *a, const void *b0,
							  const void *b1, const void *b2,
							  const void *b3, long sb)
{
	_tile_loadd(4, a, 64);
	_tile_loadd(5, b0, sb);
	_tile_dpbf16ps(0, 4, 5);
	_tile_loadd(6, b1, sb);
	_tile_dpbf16ps(1, 4, 6);
	_tile_loadd(7, b2, sb);
	_tile_dpbf16ps(2, 4, 7);
	_tile_loadd(5, b3, sb);
	_tile_dpbf16ps(3, 4, 5);
}

static inline void plane(void *p, int es, const float *a, const float *b, int H, int W, int G,
			 int lead, int total)
{
	char *c = p;
	int Wp = W + 2, Ht = tall_rows(H, G);

	memset(c, 0, (size_t)lead * es);
	for (int y = 0; y < Ht; y++) {
		char *r = c + ((long)lead + (long)y * Wp) * es;
		long src = ((long)(y / (H + 1)) * H + y % (H + 1)) * W;
		if (y % (H + 1) == H) {
			memset(r, 0, (size_t)Wp * es);
			continue;
		}
		memset(r, 0, es);
		memset(r + (long)(W + 1) * es, 0, es);
		for (int x = 0; x < W; x += 16) {
			__mmask16 m = first(W - x);
			__m512 va = _mm512_maskz_loadu_ps(m, a + src + x);
			if (es == 2) {
				_mm256_mask_storeu_epi16(r + (1L + x) * 2, m,
							 (__m256i)_mm512_cvtneps_pbh(va));
				continue;
			}
			__m512i hi = b ? bf16_words(_mm512_maskz_loadu_ps(m, b + src + x)) :
					 _mm512_setzero_si512();
			_mm512_mask_storeu_epi32(r + (1L + x) * 4, m,
						 _mm512_or_si512(bf16_words(va), _mm512_slli_epi32(hi, 16)));
		}
	}
	memset(c + ((long)lead + (long)Ht * Wp) * es, 0, (size_t)(total - lead - Ht * Wp) * es);
}

static void plane_pairs(uint32_t *p, const float *a, const float *b, int H, int W, int G,
			int lead, int total)
{
	plane(p, 4, a, b, H, W, G, lead, total);
}

static void plane_rows(uint16_t *p, const float *a, int H, int W, int G, int lead, int total)
{
	plane(p, 2, a, NULL, H, W, G, lead, total);
}

/* the tap offsets in the flattened grid */
static void taps(int off[9], int Wp)
{
	for (int t = 0; t < 9; t++)
		off[t] = (t / 3 - 1) * Wp + t % 3 - 1;
}

/* the runs of real pixels among outputs q0 .. q0+nq-1 (separator rows
 * are none): seg[s] = { first index in the block, length, offset in the
 * output plane }; at most nq / Wp + 2 of them */
static int runs(int seg[][3], int q0, int nq, const grid *g, int W)
{
	int ns = 0, Wp = g->Wp, H = g->H;

	for (int r = q0 / Wp; r * Wp < q0 + nq; r++) {
		int lo = r * Wp + 1, hi = r * Wp + W + 1, y = r - 1;
		lo = lo > q0 ? lo : q0;
		hi = hi < q0 + nq ? hi : q0 + nq;
		if (lo < hi && y % (H + 1) != H) {
			seg[ns][0] = lo - q0;
			seg[ns][1] = hi - lo;
			seg[ns][2] = (y - y / (H + 1)) * W + (lo - r * Wp - 1);
			ns++;
		}
	}
	return ns;
}

/* rows co0 .. co0+nr-1 of the block's outputs tmp (row stride ldt) plus
 * the bias (bias[co*16], the packed bias tile), into the output planes */
static void put(float *out, long ocs, const float *tmp, int ldt, int co0, int nr,
		const float *bias, int seg[][3], int ns)
{
	for (int r = 0; r < nr; r++) {
		int co = co0 + r;
		__m512 bc = _mm512_set1_ps(bias[co * 16]);
		float *o = out + co * ocs;
		for (int s = 0; s < ns; s++)
			for (int i = 0; i < seg[s][1]; i += 16) {
				__mmask16 m = first(seg[s][1] - i);
				__m512 v = _mm512_maskz_loadu_ps(m, tmp + r * ldt + seg[s][0] + i);
				_mm512_mask_storeu_ps(o + seg[s][2] + i, m, _mm512_add_ps(v, bc));
			}
	}
}

/* The loops of the forward kernels run over co blocks outside and q
 * blocks inside, so a co block's weights (2 x 18 KiB at 64 channels of
 * input) stay in L1 while the input streams past; forward_rows splits
 * longer weight runs into chunks of KSTEPS steps (18 KiB an A row), the
 * C tiles going back to the output between chunks. bench/ A-B in one
 * process, paired runs, median ratio (AMX Xeon, 2026-12-03): 1.0-1.19x
 * faster than q blocks outside, never slower, on the U-Nets' shapes. */
#define KSTEPS 18

/* Planes under 16 wide, Co a multiple of 32: blocks of 32 co x 32 q in
 * four C tiles, two A tiles (16 co each) and two B tiles (16 q each),
 * every tile loaded used twice (measured: about the AMX peak; 16 co x 64
 * q, one A for four B, runs at 60% of it) */
static void forward_2x2(float *out, long ocs, const uint32_t *X, const grid *g, const long *so,
			int nst, const uint16_t *wp, const float *bias, int Co, int W, float *tmp)
{
	long sx = (long)g->PS * sizeof *X, wstep = (long)nst * 512;
	int seg[16][3];

	for (int cob = 0; cob < Co / 16; cob += 2) {
		for (int q0 = g->Wp; q0 < g->Wp + g->L; q0 += 32) {
			int nq = g->Wp + g->L - q0 < 32 ? g->Wp + g->L - q0 : 32;
			int ns = runs(seg, q0, nq, g, W);
			const uint16_t *wa = wp + cob * wstep;
			_tile_zero(0);
			_tile_zero(1);
			_tile_zero(2);
			_tile_zero(3);
			for (int st = 0; st < nst; st++, wa += 512) {
				const uint32_t *xk = X + OFF + q0 + so[st];
				step_2x2(wa, wa + wstep, 64, xk, xk + 16, sx);
			}
			_tile_stored(0, tmp, 128);
			_tile_stored(1, tmp + 16, 128);
			_tile_stored(2, tmp + 16 * 32, 128);
			_tile_stored(3, tmp + 16 * 32 + 16, 128);
			put(out, ocs, tmp, 32, cob * 16, 32, bias, seg, ns);
		}
	}
}

/* W of 16 or more: the q tiles are runs of 16 real pixels of one row,
 * never the pad columns: at x = 0, 16, ... and the last at W - 16 (over
 * columns of the one before it when 16 does not divide W: they are
 * computed twice, in the same order, and stored twice, the same bytes).
 * So the C tiles start from the bias and are stored straight into the
 * output planes, with no put. Co a multiple of 32: two q tiles by two co
 * tiles a block, as forward_2x2; else one co tile by up to four q tiles.
 * K chunks only where no two tiles overlap: a tile reloading its partial
 * sums must not find its neighbour's. */
static inline void rows_tile(const grid *g, int W, int xt, int q, long *e, long *o)
{
	int yr = q / xt, j = q % xt, x0 = j < xt - 1 ? 16 * j : W - 16;
	int y = yr + yr / g->H;              /* real row yr's tall row */

	*e = OFF + (long)(y + 1) * g->Wp + 1 + x0;
	*o = (long)yr * W + x0;
}

static void forward_rows(float *out, long ocs, const uint32_t *X, const grid *g, const long *so,
			 int nst, const uint16_t *wp, const float *bias, int Co, int G, int W)
{
	long sx = (long)g->PS * sizeof *X, wstep = (long)nst * 512, sout = ocs * sizeof(float);
	int xt = (W + 15) / 16, nt = G * g->H * xt, kst = W % 16 ? nst : KSTEPS;

	if (Co % 32)
		goto thin;
	for (int cob = 0; cob < Co / 16; cob += 2) {
		float *o = out + cob * 16 * ocs;
		for (int s0 = 0; s0 < nst; s0 += kst) {
			int s1 = s0 + kst < nst ? s0 + kst : nst;
			for (int q = 0; q < nt; q += 2) {
				int two = q + 1 < nt;
				long e0, e1, o0, o1;
				rows_tile(g, W, xt, q, &e0, &o0);
				rows_tile(g, W, xt, two ? q + 1 : q, &e1, &o1);
				const uint16_t *wa = wp + cob * wstep + (long)s0 * 512;
				float *c0 = o + o0, *c1 = o + o1;
				if (s0 == 0) {
					_tile_loadd(0, bias + cob * 256, 64);
					_tile_loadd(1, bias + cob * 256, 64);
					_tile_loadd(2, bias + cob * 256 + 256, 64);
					_tile_loadd(3, bias + cob * 256 + 256, 64);
				} else {
					_tile_loadd(0, c0, sout);
					_tile_loadd(1, c1, sout);
					_tile_loadd(2, c0 + 16 * ocs, sout);
					_tile_loadd(3, c1 + 16 * ocs, sout);
				}
				if (two) {
					for (int st = s0; st < s1; st++, wa += 512) {
						step_2x2(wa, wa + wstep, 64, X + e0 + so[st], X + e1 + so[st], sx);
					}
				} else {
					for (int st = s0; st < s1; st++, wa += 512) {
						_tile_loadd(4, wa, 64);
						_tile_loadd(5, wa + wstep, 64);
						_tile_loadd(6, X + e0 + so[st], sx);
						_tile_dpbf16ps(0, 4, 6);
						_tile_dpbf16ps(2, 5, 6);
					}
				}
				_tile_stored(0, c0, sout);
				_tile_stored(2, c0 + 16 * ocs, sout);
				if (two) {
					_tile_stored(1, c1, sout);
					_tile_stored(3, c1 + 16 * ocs, sout);
				}
			}
		}
	}
	return;
thin:
	for (int cob = 0; cob < Co / 16; cob++) {
		float *o = out + cob * 16 * ocs;
		for (int s0 = 0; s0 < nst; s0 += kst) {
			int s1 = s0 + kst < nst ? s0 + kst : nst;
			for (int q = 0; q < nt; q += 4) {
				int nq = nt - q < 4 ? nt - q : 4;
				long e[4], oo[4];
				for (int i = 0; i < 4; i++)
					rows_tile(g, W, xt, q + (i < nq ? i : 0), &e[i], &oo[i]);
				const uint16_t *wa = wp + cob * wstep + (long)s0 * 512;
				if (s0 == 0) {
					_tile_loadd(0, bias + cob * 256, 64);
					_tile_loadd(1, bias + cob * 256, 64);
					_tile_loadd(2, bias + cob * 256, 64);
					_tile_loadd(3, bias + cob * 256, 64);
				} else {
					_tile_loadd(0, o + oo[0], sout);
					_tile_loadd(1, o + oo[1], sout);
					_tile_loadd(2, o + oo[2], sout);
					_tile_loadd(3, o + oo[3], sout);
				}
				if (nq == 4) {
					for (int st = s0; st < s1; st++, wa += 512)
						step_1x4(wa, X + e[0] + so[st], X + e[1] + so[st],
							 X + e[2] + so[st], X + e[3] + so[st], sx);
				} else {
					for (int st = s0; st < s1; st++, wa += 512) {
						_tile_loadd(4, wa, 64);
						_tile_loadd(5, X + e[0] + so[st], sx);
						_tile_dpbf16ps(0, 4, 5);
						if (nq > 1) {
							_tile_loadd(6, X + e[1] + so[st], sx);
							_tile_dpbf16ps(1, 4, 6);
						}
						if (nq > 2) {
							_tile_loadd(7, X + e[2] + so[st], sx);
							_tile_dpbf16ps(2, 4, 7);
						}
					}
				}
				_tile_stored(0, o + oo[0], sout);
				if (nq > 1)
					_tile_stored(1, o + oo[1], sout);
				if (nq > 2)
					_tile_stored(2, o + oo[2], sout);
				if (nq > 3)
					_tile_stored(3, o + oo[3], sout);
			}
		}
	}
}

/* planes under 16 wide, any Co (a multiple of 16): blocks of 16 co x 64 q */
static void forward_1x4(float *out, long ocs, const uint32_t *X, const grid *g, const long *so,
			int nst, const uint16_t *wp, const float *bias, int Co, int W, float *tmp)
{
	long sx = (long)g->PS * sizeof *X;
	int seg[16][3];

	for (int cob = 0; cob < Co / 16; cob++) {
		for (int q0 = g->Wp; q0 < g->Wp + g->L; q0 += 64) {
			int nq = g->Wp + g->L - q0 < 64 ? g->Wp + g->L - q0 : 64;
			int ns = runs(seg, q0, nq, g, W);
			const uint16_t *wa = wp + (long)cob * nst * 512;
			_tile_zero(0);
			_tile_zero(1);
			_tile_zero(2);
			_tile_zero(3);
			for (int st = 0; st < nst; st++, wa += 512) {
				const uint32_t *xk = X + OFF + q0 + so[st];
				step_1x4(wa, xk, xk + 16, xk + 32, xk + 48, sx);
			}
			_tile_stored(0, tmp, 256);
			_tile_stored(1, tmp + 16, 256);
			_tile_stored(2, tmp + 32, 256);
			_tile_stored(3, tmp + 48, 256);
			put(out, ocs, tmp, 64, cob * 16, 16, bias, seg, ns);
		}
	}
}

void kern_amx_conv_forward(float *out, long ocs, const float *inp, long ics,
			   const uint16_t *wp, const float *bias, int Ci, int Co, int H, int W, int G)
{
	int wide = Co % 32 == 0;
	grid g = grid_of(H, W, G, wide ? 32 : 64);
	int nkc = (Ci + 31) / 32, ncp = nkc * 16, off[9], nst = 0;
	uint32_t *X = kern_grow(&xbuf, &xcap, (size_t)ncp * g.PS * sizeof *X);
	float *tmp = kern_grow(&tbuf, &tcap, 16 * 64 * sizeof(float));
	long so[9 * 64];

	ready();
	taps(off, g.Wp);
	if (Ci == 16) {
		/* two taps of a row in one K chunk of 32: pair planes 8..15 are
		 * planes 0..7 one q on, so rows 8..15 of a B tile are the next
		 * tap's; steps (ky, kx 0 and 1), (ky, kx 2 alone) (kconv_pack_w) */
		for (int cp = 0; cp < 8; cp++)
			plane_pairs(X + (long)cp * g.PS, inp + 2 * cp * ics, inp + (2 * cp + 1) * ics,
				    H, W, G, OFF + g.Wp, g.PS);
		for (int cp = 0; cp < 8; cp++) {
			uint32_t *d = X + (long)(8 + cp) * g.PS;
			memcpy(d, X + (long)cp * g.PS + 1, (size_t)(g.PS - 1) * sizeof *d);
			d[g.PS - 1] = 0;
		}
		for (int ky = 0; ky < 3; ky++) {
			so[nst++] = off[3 * ky];
			so[nst++] = off[3 * ky + 2];
		}
	} else {
		for (int cp = 0; cp < ncp; cp++) {
			const float *a = 2 * cp < Ci ? inp + 2 * cp * ics : NULL;
			const float *bb = 2 * cp + 1 < Ci ? inp + (2 * cp + 1) * ics : NULL;
			if (a)
				plane_pairs(X + (long)cp * g.PS, a, bb, H, W, G, OFF + g.Wp, g.PS);
			else
				memset(X + (long)cp * g.PS, 0, (size_t)g.PS * sizeof *X);
		}
		for (int t = 0; t < 9; t++)
			for (int kc = 0; kc < nkc; kc++)
				so[nst++] = off[t] + (long)kc * 16 * g.PS;
	}
	if (W >= 16)
		forward_rows(out, ocs, X, &g, so, nst, wp, bias, Co, G, W);
	else if (wide)
		forward_2x2(out, ocs, X, &g, so, nst, wp, bias, Co, W, tmp);
	else
		forward_1x4(out, ocs, X, &g, so, nst, wp, bias, Co, W, tmp);
}

/* 16 x 16 32-bit words: d[j * ldd + i] = s[i * lds + j] */
static void transpose16(uint32_t *d, long ldd, const uint32_t *s, long lds)
{
	__m512i r[16], t[16];

	for (int i = 0; i < 16; i++)
		r[i] = _mm512_loadu_si512(s + i * lds);
	for (int i = 0; i < 8; i++) {
		t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
		t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
	}
	for (int i = 0; i < 4; i++) {
		r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
		r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
		r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
		r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
	}
	/* r[4a+b] now holds, in each 128-bit lane l, column 4l'.. of rows
	 * 4a..4a+3: gather the lanes across the four groups */
	for (int i = 0; i < 4; i++) {
		t[i] = _mm512_shuffle_i32x4(r[i], r[4 + i], 0x88);
		t[4 + i] = _mm512_shuffle_i32x4(r[i], r[4 + i], 0xdd);
		t[8 + i] = _mm512_shuffle_i32x4(r[8 + i], r[12 + i], 0x88);
		t[12 + i] = _mm512_shuffle_i32x4(r[8 + i], r[12 + i], 0xdd);
	}
	for (int i = 0; i < 4; i++) {
		r[i] = _mm512_shuffle_i32x4(t[i], t[8 + i], 0x88);
		r[8 + i] = _mm512_shuffle_i32x4(t[i], t[8 + i], 0xdd);
		r[4 + i] = _mm512_shuffle_i32x4(t[4 + i], t[12 + i], 0x88);
		r[12 + i] = _mm512_shuffle_i32x4(t[4 + i], t[12 + i], 0xdd);
	}
	for (int j = 0; j < 16; j++)
		_mm512_storeu_si512(d + j * ldd, r[j]);
}

/* one 2x2 block of the weight gradient: C tiles c, c + 16 (A xa) and
 * c + c1, c + c1 + 16 (A xa + x1) += A (16 ci x 32 q) B (db, db + 16:
 * 16 q pairs x 16 co), nk steps of 32 q; both A and B tiles used twice */
static inline void wgrad_2x2(float *c, long c1, const uint16_t *xa, long x1, const uint32_t *db,
			     int nk, long sa, long sd, long sc, int Co)
{
	_tile_loadd(0, c, sc);
	_tile_loadd(1, c + 16, sc);
	_tile_loadd(2, c + c1, sc);
	_tile_loadd(3, c + c1 + 16, sc);
	for (int s = 0; s < nk; s++, xa += 32, db += 16 * Co)
		step_2x2(xa, xa + x1, sa, db, db + 16, sd);
	_tile_stored(0, c, sc);
	_tile_stored(1, c + 16, sc);
	_tile_stored(2, c + c1, sc);
	_tile_stored(3, c + c1 + 16, sc);
}

/* the weight gradient's tile loop, NB tiles of 16 co side by side */
#define WGRAD_BLOCK(NB)                                                                  \
	do {                                                                             \
		float *c = acc + ((long)t * Ci + cib * 16) * Co + cob * 16;              \
		const uint16_t *xa = Xr + (long)cib * 16 * g.PS + OFF + g.Wp + off[t];   \
		const uint32_t *db = D + cob * 16;                                       \
		_tile_loadd(0, c, sc);                                                   \
		if (NB > 1)                                                              \
			_tile_loadd(1, c + 16, sc);                                      \
		if (NB > 2) {                                                            \
			_tile_loadd(2, c + 32, sc);                                      \
			_tile_loadd(3, c + 48, sc);                                      \
		}                                                                        \
		for (int s = 0; s < nk; s++, xa += 32, db += 16 * Co) {                  \
			_tile_loadd(4, xa, sa);                                          \
			_tile_loadd(5, db, sd);                                          \
			_tile_dpbf16ps(0, 4, 5);                                         \
			if (NB > 1) {                                                    \
				_tile_loadd(6, db + 16, sd);                             \
				_tile_dpbf16ps(1, 4, 6);                                 \
			}                                                                \
			if (NB > 2) {                                                    \
				_tile_loadd(7, db + 32, sd);                             \
				_tile_dpbf16ps(2, 4, 7);                                 \
				_tile_loadd(5, db + 48, sd);                             \
				_tile_dpbf16ps(3, 4, 5);                                 \
			}                                                                \
		}                                                                        \
		_tile_stored(0, c, sc);                                                  \
		if (NB > 1)                                                              \
			_tile_stored(1, c + 16, sc);                                     \
		if (NB > 2) {                                                            \
			_tile_stored(2, c + 32, sc);                                     \
			_tile_stored(3, c + 48, sc);                                     \
		}                                                                        \
	} while (0)

void kern_amx_conv_wgrad(float *acc, const float *dout, long dcs, const float *inp, long ics,
			 int Ci, int Co, int H, int W, int G)
{
	grid g = grid_of(H, W, G, 32);
	int Lk = (g.L + 31) / 32 * 32, nk = Lk / 32, off[9];
	uint16_t *Xr = kern_grow(&xbuf, &xcap, (size_t)Ci * g.PS * sizeof *Xr);
	uint16_t *Dr = kern_grow(&tbuf, &tcap, (size_t)Co * Lk * sizeof *Dr);
	uint32_t *D = kern_grow(&dbuf, &dcap, (size_t)Lk / 2 * Co * sizeof *D);
	long sa = (long)g.PS * sizeof *Xr, sd = (long)Co * sizeof *D, sc = (long)Co * sizeof *acc;

	ready();
	taps(off, g.Wp);
	for (int ci = 0; ci < Ci; ci++)
		plane_rows(Xr + (long)ci * g.PS, inp + ci * ics, H, W, G, OFF + g.Wp, g.PS);
	/* D from rows of the output gradient counted from q = Wp: pairs of
	 * 16-bit q's are the 32-bit words of a row, transposed to (k, co) */
	for (int co = 0; co < Co; co++)
		plane_rows(Dr + (long)co * Lk, dout + co * dcs, H, W, G, 0, Lk);
	for (int k = 0; k < Lk / 2; k += 16)
		for (int co = 0; co < Co; co += 16)
			transpose16(D + (long)k * Co + co, Co, (const uint32_t *)Dr + (long)co * (Lk / 2) + k,
				    Lk / 2);
	if (Ci % 32 == 0 && Co % 32 == 0) {
		/* 32 ci x 32 co: two A tiles, two B tiles, each used twice */
		for (int t = 0; t < 9; t++)
			for (int cib = 0; cib < Ci / 16; cib += 2)
				for (int cob = 0; cob < Co / 16; cob += 2) {
					float *c = acc + ((long)t * Ci + cib * 16) * Co + cob * 16;
					const uint16_t *xa = Xr + (long)cib * 16 * g.PS + OFF + g.Wp + off[t];
					wgrad_2x2(c, 16L * Co, xa, 16L * g.PS, D + cob * 16, nk, sa, sd, sc, Co);
				}
		return;
	}
	if (Co == 16) {
		/* one co tile: the three taps of a row share each B tile, their
		 * A tiles one q apart (3 TDP a B and 3 A loads, not 3 B and 3
		 * A: bench/ A-B, paired runs, 1.13-1.22x on 16->16 and 32->16
		 * at 28x28, 48->16 at 14x14, 16->16 at 64x84) */
		for (int cib = 0; cib < Ci / 16; cib++)
			for (int ky = 0; ky < 3; ky++) {
				float *c = acc + ((long)3 * ky * Ci + cib * 16) * Co;
				const uint16_t *xa = Xr + (long)cib * 16 * g.PS + OFF + g.Wp + off[3 * ky];
				const uint32_t *db = D;
				long ct = (long)Ci * Co;
				_tile_loadd(0, c, sc);
				_tile_loadd(1, c + ct, sc);
				_tile_loadd(2, c + 2 * ct, sc);
				for (int s = 0; s < nk; s++, xa += 32, db += 16 * Co) {
					_tile_loadd(4, db, sd);
					_tile_loadd(5, xa, sa);
					_tile_dpbf16ps(0, 5, 4);
					_tile_loadd(6, xa + 1, sa);
					_tile_dpbf16ps(1, 6, 4);
					_tile_loadd(7, xa + 2, sa);
					_tile_dpbf16ps(2, 7, 4);
				}
				_tile_stored(0, c, sc);
				_tile_stored(1, c + ct, sc);
				_tile_stored(2, c + 2 * ct, sc);
			}
		return;
	}
	if (Co == 32) {
		/* 16 ci, 32 co: two taps by two co tiles, each tile loaded used
		 * twice, the last tap alone (1.12-1.21x on 16->32 at 28x28 and
		 * 48->32 at 7x7; at 64 co and more, one A for four B stays) */
		for (int cib = 0; cib < Ci / 16; cib++)
			for (int cob = 0; cob < Co / 16; cob += 2) {
				for (int t = 0; t < 8; t += 2) {
					float *c = acc + ((long)t * Ci + cib * 16) * Co + cob * 16;
					const uint16_t *xa = Xr + (long)cib * 16 * g.PS + OFF + g.Wp + off[t];
					wgrad_2x2(c, (long)Ci * Co, xa, off[t + 1] - off[t], D + cob * 16, nk, sa,
						  sd, sc, Co);
				}
				int t = 8;
				WGRAD_BLOCK(2);
			}
		return;
	}
	for (int t = 0; t < 9; t++)
		for (int cib = 0; cib < Ci / 16; cib++) {
			int cob = 0;
			for (; cob + 4 <= Co / 16; cob += 4)
				WGRAD_BLOCK(4);
			for (; cob + 2 <= Co / 16; cob += 2)
				WGRAD_BLOCK(2);
			for (; cob < Co / 16; cob++)
				WGRAD_BLOCK(1);
		}
}
