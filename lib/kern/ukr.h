/* ukr.h: inside lib/kern: what a microkernel is, for gemm.c and the
 * instruction-set files (portable.c, avx2.c, avx512.c, avx512bf16.c,
 * amx.c). Each of those defines its microkernels and nothing else; the
 * blocking, the packing and the choice of path are gemm.c's.
 *
 * A microkernel computes one MR x NR tile of C from a packed panel of A
 * (MR rows) and a packed panel of B (NR columns) over kc steps of K:
 * C = (acc ? C : 0) + Ap Bp, C row-major with stride ldc. The packed
 * formats (kc is a multiple of kalign; rows and columns past the matrix
 * are zero):
 *   PACK_F32        A: Ap[k*MR + r]; B: Bp[k*NR + j], float
 *   PACK_F32_BF16   the same, every value rounded to bf16 (emulated bf16)
 *   PACK_BF16_PAIRS A: Ap[(k/2*MR + r)*2 + k%2]; B: Bp[(k/2*NR + j)*2 + k%2],
 *                   bf16 (VDPBF16PS; and the B side of AMX)
 *   PACK_BF16_ROWS  A: 32-wide chunks of K, each MR rows of 32 bf16:
 *                   Ap[(k/32*MR + r)*32 + k%32] (AMX A tiles)
 */
#ifndef SEGPIPE_UKR_H
#define SEGPIPE_UKR_H

#include <stddef.h>
#include <stdint.h>

enum { PACK_F32, PACK_F32_BF16, PACK_BF16_PAIRS, PACK_BF16_ROWS };

/* ukr: the MR x NR tile; B's rows are ldb elements apart (NR when packed;
 * with direct_b, fp32 kernels also take B's own rows, unpacked). A kernel
 * with edges computes and stores only the first mr rows and nr columns
 * (and reads no column of B past nr); without, mr = MR and nr = NR. */
typedef void ukr_fn(int kc, const void *Ap, const void *Bp, long ldb, float *C, long ldc,
		    int acc, int mr, int nr);

/* nt: C (M,N) = beta C + A B^T with A (M,K) and B (N,K) both row-major
 * along K: every entry a dot product, done in vector lanes along K and
 * reduced at the end (the weight gradients: K long, M and N small). fp32
 * rows, or bf16 rows (uint16, K padded with zeros to a multiple of 32)
 * where bf16_rows is set. */
typedef void nt_fn(int M, int N, int K, const void *A, long lda, const void *B, long ldb,
		   float beta, float *C, long ldc);

/* pack_fn: an instruction-set version of a packing into one panel `width`
 * wide (MR for A, NR for B) over K steps k0.. (kc of them, zero up to kcp),
 * in the operand's packed format (PACK_F32* or PACK_BF16_PAIRS):
 *   pack_t: from `n` rows along K: src[j*ld + k], j < n (A as it is, B^T)
 *   pack_n: from K rows of `n` columns: src[k*ld + j], j < n (A^T, B)
 * columns past n are zero. NULL: gemm.c's generic packing, which does the
 * fp32 formats and A in PACK_BF16_ROWS; a kernel taking PACK_BF16_PAIRS
 * supplies all four. */
typedef void pack_fn(void *dst, int width, const float *src, long ld, int n, int kc, int kcp);

typedef struct {
	const char *name;
	int mr, nr, kalign;
	int a_fmt, b_fmt;
	ukr_fn *ukr;
	void (*thread_init)(void);   /* once per thread before the first call, or NULL */
	int direct_b;                /* ukr reads fp32 B rows in place */
	int edges;                   /* ukr does partial tiles itself */
	nt_fn *nt;                   /* NULL: A B^T by packing */
	int bf16_rows;               /* nt takes bf16 rows */
	pack_fn *a_pack_t, *a_pack_n, *b_pack_t, *b_pack_n;
	/* to_bf16: dst[0..n) = src rounded to bf16, dst[n..npad) = 0 (NULL: generic) */
	void (*to_bf16)(uint16_t *dst, const float *src, int n, int npad);
} kern_ukr;

pack_fn kern_pack_t_pairs_avx512bf16, kern_pack_n_pairs_avx512bf16;
void kern_to_bf16_avx512bf16(uint16_t *dst, const float *src, int n, int npad);

extern const kern_ukr kern_portable_f32, kern_portable_bf16;
extern const kern_ukr kern_avx2_f32, kern_avx2_bf16;
extern const kern_ukr kern_avx512_f32, kern_avx512_bf16;
extern const kern_ukr kern_avx512bf16_bf16;
extern const kern_ukr kern_amx_bf16;

/* kern_grow: a per-thread buffer (the caller's static __thread pointer and
 * capacity) of at least n bytes, 64-byte aligned; its contents are lost */
void *kern_grow(void **buf, size_t *cap, size_t n);

/* the direct 3x3 convolution on AMX (amx_conv.c; conv.c is its face):
 * forward of G images, one after another in each channel's plane,
 * out[co*ocs + (n*H + y)*W + x] = b[co] + the taps, the weights and the
 * bias tile (bias[co*16 + i] = b[co], i < 16) packed by conv.c; and the
 * weight gradient of G images added to acc[(tap*Ci + ci)*Co + co] */
void kern_amx_conv_forward(float *out, long ocs, const float *inp, long ics,
			   const uint16_t *wp, const float *bias, int Ci, int Co, int H, int W,
			   int G);
void kern_amx_conv_wgrad(float *acc, const float *dout, long dcs, const float *inp, long ics,
			 int Ci, int Co, int H, int W, int G);

#endif
