/* gemm.c: kgemm, the one product every layer calls (kern.h): blocking,
 * packing and the path's microkernel (ukr.h).
 *
 * Loops (BLIS style): columns of C in blocks of NC, K in blocks of KC (B's
 * block, KC x NC, packed once and kept in L2), rows in blocks of MC (A's
 * block packed, in L1/L2), then the microkernel over MR x NR tiles. Edge
 * tiles go through a small buffer. Packing does the transposes and the
 * conversion to bf16, so the microkernels see one layout each. The sums
 * over K run in a fixed order for given sizes and path: same bytes. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "ukr.h"
#include "util.h"

#define KC 256                         /* a multiple of every kalign */
#define NC 768                         /* a multiple of every NR (kgemm_with_b) */
#define MC 128

static const kern_ukr *const table[KPATH_COUNT][2] = {
	[KPATH_PORTABLE] = { &kern_portable_f32, &kern_portable_bf16 },
	[KPATH_AVX2] = { &kern_avx2_f32, &kern_avx2_bf16 },
	[KPATH_AVX512] = { &kern_avx512_f32, &kern_avx512_bf16 },
	[KPATH_AVX512_BF16] = { &kern_avx512_f32, &kern_avx512bf16_bf16 },
	[KPATH_AMX] = { &kern_avx512_f32, &kern_amx_bf16 },
};

/* per-thread buffers, 64-byte aligned, grown as needed */
static __thread void *abuf, *bbuf;
static __thread size_t acap, bcap;
static __thread const kern_ukr *inited[4];

void *kern_grow(void **buf, size_t *cap, size_t n)
{
	if (n > *cap) {
		free(*buf);
		n = (n + 4095) & ~(size_t)4095;
		if (posix_memalign(buf, 64, n) != 0)
			die("out of memory (%zu bytes for the kernel buffers)", n);
		*cap = n;
	}
	return *buf;
}

static void thread_ready(const kern_ukr *u)
{
	if (!u->thread_init)
		return;
	for (int i = 0; i < 4; i++) {
		if (inited[i] == u)
			return;
		if (!inited[i]) {
			u->thread_init();
			inited[i] = u;
			return;
		}
	}
	u->thread_init();
}

static inline float at(const float *X, int trans, int ld, int i, int j)
{
	return trans ? X[(long)j * ld + i] : X[(long)i * ld + j];
}

/* pack rows r0..r0+mr (of op(A), rows past M zero) and K k0..k0+kc (past K
 * zero, kcp = kc rounded up to kalign) into one panel of MR rows */
static void pack_a(void *dst, const kern_ukr *u, const float *A, int ta, int lda,
		   int M, int r0, int k0, int kc, int kcp)
{
	int MR = u->mr, rows = M - r0 < MR ? M - r0 : MR;

	if (!ta && u->a_pack_t) {
		u->a_pack_t(dst, MR, A + (long)r0 * lda + k0, lda, rows, kc, kcp);
		return;
	}
	if (ta && u->a_pack_n) {
		u->a_pack_n(dst, MR, A + (long)k0 * lda + r0, lda, rows, kc, kcp);
		return;
	}

	switch (u->a_fmt) {
	case PACK_F32:
	case PACK_F32_BF16: {
		float *p = dst;
		int round = u->a_fmt == PACK_F32_BF16;
		memset(p, 0, (size_t)kcp * MR * sizeof(float));
		for (int r = 0; r < rows; r++)
			for (int k = 0; k < kc; k++) {
				float v = at(A, ta, lda, r0 + r, k0 + k);
				p[(size_t)k * MR + r] = round ? kern_round_bf16(v) : v;
			}
		break;
	}
	case PACK_BF16_PAIRS:   /* such kernels pack for themselves (ukr.h) */
		die("kgemm: the %s kernel has no packing for A", u->name);
	case PACK_BF16_ROWS: {
		uint16_t *p = dst;
		memset(p, 0, (size_t)kcp * MR * sizeof(uint16_t));
		for (int r = 0; r < rows; r++)
			for (int k = 0; k < kc; k++)
				p[((size_t)(k / 32) * MR + r) * 32 + k % 32] =
					kern_to_bf16(at(A, ta, lda, r0 + r, k0 + k));
		break;
	}
	}
}

/* pack columns c0..c0+NR of op(B) (past N zero), K k0..k0+kc, one panel */
static void pack_b(void *dst, const kern_ukr *u, const float *B, int tb, int ldb,
		   int N, int c0, int k0, int kc, int kcp)
{
	int NR = u->nr, cols = N - c0 < NR ? N - c0 : NR;

	if (tb && u->b_pack_t) {
		u->b_pack_t(dst, NR, B + (long)c0 * ldb + k0, ldb, cols, kc, kcp);
		return;
	}
	if (!tb && u->b_pack_n) {
		u->b_pack_n(dst, NR, B + (long)k0 * ldb + c0, ldb, cols, kc, kcp);
		return;
	}
	if (u->b_fmt == PACK_BF16_PAIRS)   /* such kernels pack for themselves (ukr.h) */
		die("kgemm: the %s kernel has no packing for B", u->name);
	float *p = dst;
	int round = u->b_fmt == PACK_F32_BF16;
	if (cols < NR || kc < kcp)
		memset(p, 0, (size_t)kcp * NR * sizeof(float));
	if (!tb) {
		for (int k = 0; k < kc; k++) {
			const float *s = B + (long)(k0 + k) * ldb + c0;
			float *d = p + (size_t)k * NR;
			if (round)
				for (int j = 0; j < cols; j++)
					d[j] = kern_round_bf16(s[j]);
			else
				memcpy(d, s, (size_t)cols * sizeof(float));
		}
	} else {
		for (int j = 0; j < cols; j++) {
			const float *s = B + (long)(c0 + j) * ldb + k0;
			for (int k = 0; k < kc; k++)
				p[(size_t)k * NR + j] = round ? kern_round_bf16(s[k]) : s[k];
		}
	}
}

static size_t elem_size(int fmt)
{
	return fmt == PACK_F32 || fmt == PACK_F32_BF16 ? sizeof(float) : sizeof(uint16_t);
}

static __thread void *ntbuf;
static __thread size_t ntcap;

#define KNT 2048
/* A B^T by dot products only when K is long enough to pay for the final
 * reduction of each entry (measured: K 256 is faster packed, 1024 by dots) */
#define NT_MIN_K 1024                       /* K per block of the A B^T kernel's copies */

/* C = beta C + A B^T by the path's dot-product kernel; for bf16 the rows
 * are first copied, rounded (emulated) or converted (bf16 rows), a block
 * of K at a time */
static void gemm_nt(const kern_ukr *u, int M, int N, int K, const float *A, int lda,
		    const float *B, int ldb, float beta, float *C, int ldc)
{
	if (u->a_fmt == PACK_F32) {
		u->nt(M, N, K, A, lda, B, ldb, beta, C, ldc);
		return;
	}
	for (int k0 = 0; k0 < K; k0 += KNT) {
		int kc = K - k0 < KNT ? K - k0 : KNT, kp = (kc + 31) / 32 * 32;
		float b = k0 > 0 ? 1.0f : beta;
		size_t rows = (size_t)M + N;
		if (u->bf16_rows) {
			uint16_t *t = kern_grow(&ntbuf, &ntcap, rows * kp * sizeof(uint16_t));
			for (size_t r = 0; r < rows; r++) {
				const float *src = r < (size_t)M ? A + (long)r * lda + k0 :
					B + (long)(r - M) * ldb + k0;
				uint16_t *d = t + r * kp;
				if (u->to_bf16) {
					u->to_bf16(d, src, kc, kp);
					continue;
				}
				for (int k = 0; k < kc; k++)
					d[k] = kern_to_bf16(src[k]);
				for (int k = kc; k < kp; k++)
					d[k] = 0;
			}
			u->nt(M, N, kp, t, kp, t + (size_t)M * kp, kp, b, C, ldc);
		} else {
			float *t = kern_grow(&ntbuf, &ntcap, rows * kp * sizeof(float));
			for (size_t r = 0; r < rows; r++) {
				const float *src = r < (size_t)M ? A + (long)r * lda + k0 :
					B + (long)(r - M) * ldb + k0;
				float *d = t + r * kp;
				for (int k = 0; k < kc; k++)
					d[k] = kern_round_bf16(src[k]);
			}
			u->nt(M, N, kc, t, kp, t + (size_t)M * kp, kp, b, C, ldc);
		}
	}
}

/* A packed whole: K blocks of KC, in each the panels of MR rows, each
 * panel KC (rounded up to kalign) steps long; made for one path and
 * precision */
struct kgemm_a {
	const kern_ukr *u;
	int ta, M, K, lda;
	const float *A;              /* for the A B^T kernel, which reads A as it is */
	char *p;
	size_t panel, block;         /* bytes of a panel, of a K block */
	int own;                     /* p is ours to free */
};

static const kern_ukr *ukr_now(void)
{
	return table[kern_current()][kern_get_precision() == KERN_BF16];
}

static void pack_all(struct kgemm_a *a)
{
	const kern_ukr *u = a->u;
	int ka = u->kalign, MR = u->mr;
	int kcmax = a->K < KC ? (a->K + ka - 1) / ka * ka : KC;

	a->panel = (size_t)kcmax * MR * elem_size(u->a_fmt);
	a->block = a->panel * ((a->M + MR - 1) / MR);
	for (int pc = 0; pc < a->K; pc += KC) {
		int kc = a->K - pc < KC ? a->K - pc : KC, kcp = (kc + ka - 1) / ka * ka;
		for (int ir = 0; ir < a->M; ir += MR)
			pack_a(a->p + a->block * (pc / KC) + a->panel * (ir / MR), u, a->A, a->ta,
			       a->lda, a->M, ir, pc, kc, kcp);
	}
}

static size_t packed_size(const kern_ukr *u, int M, int K)
{
	int ka = u->kalign, kcmax = K < KC ? (K + ka - 1) / ka * ka : KC;

	return (size_t)kcmax * u->mr * elem_size(u->a_fmt) * ((M + u->mr - 1) / u->mr) *
	       ((K + KC - 1) / KC);
}

kgemm_a *kgemm_pack_a(int ta, int M, int K, const float *A, int lda)
{
	struct kgemm_a *a = xcalloc(1, sizeof *a);

	*a = (struct kgemm_a){ ukr_now(), ta, M, K, lda, A, NULL, 0, 0, 1 };
	if (M > 0 && K > 0) {
		size_t n = packed_size(a->u, M, K);
		if (posix_memalign((void **)&a->p, 64, n) != 0)
			die("out of memory (%zu bytes for packed weights)", n);
		pack_all(a);
	}
	return a;
}

void kgemm_a_free(kgemm_a *a)
{
	if (a) {
		if (a->own)
			free(a->p);
		free(a);
	}
}

/* the product with A packed */
static void gemm_packed(const struct kgemm_a *pa, int tb, int N, const float *B, int ldb,
			const char *Bready, float beta, float *C, int ldc)
{
	const kern_ukr *u = pa->u;
	int M = pa->M, K = pa->K, MR = u->mr, NR = u->nr, ka = u->kalign;
	int direct = u->direct_b && !tb;
	int kcmax = K < KC ? (K + ka - 1) / ka * ka : KC, ncmax = N < NC ? N : NC;
	size_t bpanel = (size_t)kcmax * NR * elem_size(u->b_fmt);
	int nbp = direct || Bready ? 1 : (ncmax + NR - 1) / NR;
	char *Bp = kern_grow(&bbuf, &bcap, bpanel * nbp);
	float tile[16 * 64] __attribute__((aligned(64)));

	thread_ready(u);
	for (int jc = 0; jc < N; jc += NC) {
		int nc = N - jc < NC ? N - jc : NC;
		for (int pc = 0; pc < K; pc += KC) {
			int kc = K - pc < KC ? K - pc : KC, kcp = (kc + ka - 1) / ka * ka;
			int acc = pc > 0 || beta != 0.0f;
			const char *Ab = pa->p + pa->block * (pc / KC);
			/* packed panels of B; with direct, only a last partial one */
			for (int jr = 0; jr < nc && !Bready; jr += NR) {
				if (direct && (nc - jr >= NR || u->edges))
					continue;
				char *dst = Bp + (direct ? 0 : bpanel * (jr / NR));
				pack_b(dst, u, B, tb, ldb, jc + nc, jc + jr, pc, kc, kcp);
			}
			for (int ic = 0; ic < M; ic += MC) {
				int mc = M - ic < MC ? M - ic : MC;
				for (int jr = 0; jr < nc; jr += NR) {
					int nr = nc - jr < NR ? nc - jr : NR;
					const char *b;
					long bs = NR;
					if (Bready) {
						b = Bready + bpanel * ((jc + jr) / NR);
					} else if (direct && (nr == NR || u->edges)) {
						b = (const char *)(B + (long)pc * ldb + jc + jr);
						bs = ldb;
					} else {
						b = Bp + (direct ? 0 : bpanel * (jr / NR));
					}
					for (int ir = 0; ir < mc; ir += MR) {
						int mr = mc - ir < MR ? mc - ir : MR;
						float *c = C + (long)(ic + ir) * ldc + jc + jr;
						const char *a = Ab + pa->panel * ((ic + ir) / MR);
						if (u->edges || (mr == MR && nr == NR)) {
							u->ukr(kcp, a, b, bs, c, ldc, acc, mr, nr);
							continue;
						}
						u->ukr(kcp, a, b, bs, tile, NR, 0, MR, NR);
						for (int i = 0; i < mr; i++)
							for (int j = 0; j < nr; j++)
								c[(long)i * ldc + j] = acc ?
									c[(long)i * ldc + j] + tile[i * NR + j] :
									tile[i * NR + j];
					}
				}
			}
		}
	}
}

static int trivial(int M, int N, int K, float beta, float *C, int ldc)
{
	if (M <= 0 || N <= 0)
		return 1;
	if (K <= 0) {
		if (beta == 0.0f)
			for (int i = 0; i < M; i++)
				memset(C + (long)i * ldc, 0, (size_t)N * sizeof(float));
		return 1;
	}
	return 0;
}

void kgemm_with(const kgemm_a *a, int tb, int N, const float *B, int ldb, float beta,
		float *C, int ldc)
{
	if (a->u != ukr_now())
		die("kgemm_with: A was packed for another kernel path or precision");
	if (trivial(a->M, N, a->K, beta, C, ldc))
		return;
	if (!a->ta && tb && a->u->nt)
		gemm_nt(a->u, a->M, N, a->K, a->A, a->lda, B, ldb, beta, C, ldc);
	else
		gemm_packed(a, tb, N, B, ldb, NULL, beta, C, ldc);
}

int kgemm_b_panels(int K, int *nr, int *rows)
{
	const kern_ukr *u = ukr_now();

	if (u->b_fmt != PACK_BF16_PAIRS || K <= 0 || K > KC)
		return 0;
	*nr = u->nr;
	*rows = (K + u->kalign - 1) / u->kalign * u->kalign / 2;
	return 1;
}

void kgemm_with_b(const kgemm_a *a, int N, const uint16_t *Bp, float beta, float *C, int ldc)
{
	int nr, rows;

	if (a->u != ukr_now() || !kgemm_b_panels(a->K, &nr, &rows))
		die("kgemm_with_b: B was packed for another kernel path, precision or K");
	if (trivial(a->M, N, a->K, beta, C, ldc))
		return;
	gemm_packed(a, 0, N, NULL, 0, (const char *)Bp, beta, C, ldc);
}

void kgemm(int ta, int tb, int M, int N, int K, const float *A, int lda,
	   const float *B, int ldb, float beta, float *C, int ldc)
{
	if (trivial(M, N, K, beta, C, ldc))
		return;
	const kern_ukr *u = ukr_now();
	if (!ta && tb && u->nt && K >= NT_MIN_K) {
		gemm_nt(u, M, N, K, A, lda, B, ldb, beta, C, ldc);
		return;
	}
	/* A packed into this thread's buffer */
	struct kgemm_a a = { u, ta, M, K, lda, A, NULL, 0, 0, 0 };
	a.p = kern_grow(&abuf, &acap, packed_size(u, M, K));
	pack_all(&a);
	gemm_packed(&a, tb, N, B, ldb, NULL, beta, C, ldc);
}
