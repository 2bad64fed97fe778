/* kern.h: the engine's arithmetic, one interface for every instruction set.
 *
 * The layers call kgemm and nothing else for their products; which kernel
 * runs is chosen once, at the first call (or kern_init), from what the CPU
 * reports (cpuid feature bits, xgetbv, and for AMX the kernel's permission
 * through arch_prctl), never from a table of model numbers:
 *
 *   amx          AMX-BF16 tiles for bf16 products (fp32: the avx512 kernel)
 *   avx512-bf16  AVX-512 with VDPBF16PS for bf16 products
 *   avx512       AVX-512F; bf16 emulated (inputs rounded, fp32 FMA)
 *   avx2         AVX2 + FMA; bf16 emulated
 *   portable     plain C, any x86-64; bf16 emulated
 *
 * SEGPIPE_KERNEL=NAME in the environment forces a path (any the CPU can
 * run; asking for one it cannot is an error naming the best it has).
 *
 * Precision: KERN_FP32 multiplies fp32 inputs; KERN_BF16 rounds both inputs
 * of every product to bf16 (round to nearest even) and accumulates in fp32,
 * on every path (the emulation gives the same products, exactly, since a
 * product of two bf16 values is exact in fp32; only the order of the
 * additions differs between paths).
 *
 * Same inputs, precision and path give the same bytes. kgemm is
 * single-threaded: the layers call it from their own parallel loops. */
#ifndef SEGPIPE_KERN_H
#define SEGPIPE_KERN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
	KPATH_PORTABLE, KPATH_AVX2, KPATH_AVX512, KPATH_AVX512_BF16, KPATH_AMX, KPATH_COUNT
} kern_path;

typedef enum { KERN_FP32, KERN_BF16 } kern_precision;

/* kern_init: detect the CPU, apply SEGPIPE_KERNEL; called by the first
 * kgemm, safe to call again (does nothing then). Dies on a bad
 * SEGPIPE_KERNEL. */
void kern_init(void);
kern_path kern_current(void);          /* the path in use */
kern_path kern_best(void);             /* the best path this CPU can run */
int kern_can_run(kern_path p);         /* 1 if this CPU (and kernel) can run p */
const char *kern_path_name(kern_path p);
int kern_path_parse(const char *name); /* -1 if unknown */
/* kern_use: switch to path p (tests and benchmarks); dies if it cannot run. */
void kern_use(kern_path p);

void kern_set_precision(kern_precision p);
/* kern_default_precision: the fastest precision that keeps quality
 * (bench/precision_check.sh): bf16 where the path in use multiplies bf16
 * natively (amx, avx512-bf16), else fp32 (emulated bf16 is slower). */
kern_precision kern_default_precision(void);
kern_precision kern_get_precision(void);
const char *kern_precision_name(kern_precision p);
int kern_precision_parse(const char *name);   /* "fp32", "bf16"; -1 if unknown */

/* kern_describe: one line for --version and -v: "kernel avx512-bf16,
 * precision bf16" (static buffer). */
const char *kern_describe(void);

/* kgemm: C (M,N) = beta C + op(A) op(B), row-major, beta 0 or 1 (with
 * beta 0, C is written without being read). op(A) is (M,K): A[m*lda+k],
 * or with ta A[k*lda+m]; op(B) is (K,N): B[k*ldb+n], or with tb B[n*ldb+k].
 * Any M, N, K >= 0. */
void kgemm(int ta, int tb, int M, int N, int K, const float *A, int lda,
	   const float *B, int ldb, float beta, float *C, int ldc);

/* kgemm_pack_a: A packed once for many products by the same A (the
 * Winograd weights of a layer, used for every group of images), for the
 * path and precision in use; kgemm_with: kgemm with it (dies if the path
 * or precision has changed since). A packed A may be shared by threads. */
typedef struct kgemm_a kgemm_a;
kgemm_a *kgemm_pack_a(int ta, int M, int K, const float *A, int lda);
void kgemm_with(const kgemm_a *a, int tb, int N, const float *B, int ldb, float beta,
		float *C, int ldc);
void kgemm_a_free(kgemm_a *a);

/* A B whose B the caller writes packed itself (the Winograd transform
 * writes its bf16 pairs straight into the panels the kernel reads).
 * kgemm_b_panels: 1 if the path and precision in use take B as bf16 pairs
 * and K fits one block, with the panel width *nr and the pair rows of a
 * panel *rows (K rounded up to the kernel's step, halved); 0 otherwise
 * (then give B as floats). Column j, row k of B (K, N) is at
 *     Bp[((j / nr * rows + k / 2) * nr + j % nr) * 2 + k % 2],
 * pair rows past K zero; columns past N are read but only into entries of
 * C that are not stored. kgemm_with_b: kgemm_with (tb 0) with such a B. */
int kgemm_b_panels(int K, int *nr, int *rows);
void kgemm_with_b(const kgemm_a *a, int N, const uint16_t *Bp, float beta, float *C, int ldc);

/* The direct 3x3 convolution (zero padding 1), on the paths that have one
 * (amx, in bf16): no im2col and no Winograd, each tap a product read
 * straight from the image (amx_conv.c). kconv_ok: whether the path and
 * precision in use do it for these sizes (Ci and Co multiples of 16, W >= 6).
 * Then: kconv_pack_w packs w (Co, Ci, 3, 3) and b (Co; NULL: none) once
 * for many images (may be shared by threads); or by parts: kconv_w_alloc,
 * then kconv_w_set for the blocks of 16 out channels [cob0, cob1) (with
 * flip, w is the weights (Ci, Co, 3, 3) of the convolution whose input
 * gradient this one computes, flipped and transposed here); kconv_forward does G
 * images, out channel co at out + co*ocs, input channel ci at inp + ci*ics
 * (G planes H x W one after another), plus the bias; kconv_wgrad adds G
 * images' weight gradient to acc (kconv_acc_floats of them, zeroed by the
 * caller); kconv_group: the G to take at a time for these sizes, or the
 * one kconv_force_group (or SEGPIPE_KCONV_GROUP) set, 0 the rule;
 * kconv_acc_add adds nacc such accumulators, one after another in memory,
 * to dw (Co, Ci, 3, 3) for in channels [ci0, ci1), summed in their order
 * as the layers' partial sums are. Single-threaded, like kgemm: threads
 * share the packing and the sums by those ranges. */
typedef struct kconv_w kconv_w;
int kconv_ok(int Ci, int Co, int H, int W);
kconv_w *kconv_pack_w(const float *w, const float *b, int Ci, int Co);
kconv_w *kconv_w_alloc(int Ci, int Co);
void kconv_w_set(kconv_w *k, const float *w, const float *b, int flip, int cob0, int cob1);
void kconv_w_free(kconv_w *w);
int kconv_group(int Ci, int Co, int H, int W);
void kconv_force_group(int G);
void kconv_forward(const kconv_w *w, float *out, long ocs, const float *inp, long ics, int H,
		   int W, int G);
size_t kconv_acc_floats(int Ci, int Co);
void kconv_wgrad(float *acc, const float *dout, long dcs, const float *inp, long ics, int Ci,
		 int Co, int H, int W, int G);
void kconv_acc_add(float *dw, const float *acc, int nacc, int Ci, int Co, int ci0, int ci1);

/* kern_peak_gflops: the measured peak of one unit on the calling thread's
 * core (peak.c): "fp32-avx512", "fp32-avx2", "bf16-avx512", "bf16-amx";
 * 0 where the CPU lacks it. */
double kern_peak_gflops(const char *unit, double seconds);

/* bf16 helpers: round to nearest even (NaN kept NaN), and back. */
static inline uint16_t kern_to_bf16(float f)
{
	union { float f; uint32_t u; } v = { f };
	if ((v.u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((v.u >> 16) | 0x40);
	return (uint16_t)((v.u + 0x7fffu + ((v.u >> 16) & 1)) >> 16);
}
static inline float kern_from_bf16(uint16_t h)
{
	union { uint32_t u; float f; } v = { (uint32_t)h << 16 };
	return v.f;
}
static inline float kern_round_bf16(float f)
{
	return kern_from_bf16(kern_to_bf16(f));
}

#endif
