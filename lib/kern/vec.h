/* vec.h: the vector primitives the layers call besides kgemm, one table
 * per instruction set (vecops.h, compiled by vec_portable.c, vec_avx2.c,
 * vec_avx512.c), chosen with the kernel path: kvec() is the table of the
 * path in use (avx512-bf16 and amx use the avx512 one).
 *
 * Winograd F(2x2,3x3) transforms (nn_winograd.c has the algorithm): tiles
 * are done 16 at a time (two rows of tiles at once when Tw <= 8); each plane
 * of Th x Tw tiles, Tw <= KERN_WINO_MAXT.
 *   wino_input:  V[k][.][col0 + ty*Tw + tx] (k stride vs) = B^T d B of one
 *                plane src (H, W); pad: a zeroed buffer of (2*Th+4) x
 *                kern_wino_pad_stride(Tw) floats (only the image area is
 *                written, so its border stays zero). Stores run 16 tiles
 *                wide, past the end of a row of tiles into the next one
 *                (rewritten later, in order) or into the slack after V[k].
 *   wino_output: dst (H, W) = A^T M A + bias from M[k][.][col0 + tile]
 *                (loads may run up to 16 floats past a row of tiles)
 *   wino_dout:   dM[k][.][col0 + tile] = A dY A^T of each 2x2 tile of dy
 *                (H, W); pad: a zeroed (4, kern_wino_pad_stride(Tw)) buffer
 */
#ifndef SEGPIPE_VEC_H
#define SEGPIPE_VEC_H

#include <stddef.h>
#include <stdint.h>

#define KERN_WINO_MAXT 512      /* widest row of tiles handled */

static inline size_t kern_wino_pad_stride(int Tw)
{
	return (size_t)(32 * ((Tw + 15) / 16) + 48) / 16 * 16;
}

typedef struct {
	const char *name;
	/* sums in float lanes over fixed blocks, each block added in double */
	double (*sum)(const float *x, size_t n);
	double (*sum_sq_dev)(const float *x, size_t n, float m);     /* sum (x - m)^2 */
	void (*affine)(float *y, const float *x, size_t n, float scale, float shift);
	void (*act)(float *y, const float *x, size_t n, int act);    /* act_kind; y may be x */
	/* dx = dy * act'(.), from the forward output y */
	void (*act_grad)(float *dx, const float *dy, const float *y, size_t n, int act);
	/* batch-norm backward of one channel: the sums of dy and dy * xhat, then
	 * dx = k (dy - a - xhat b), xhat = (x - mean) * invstd */
	void (*bn_grad_sums)(const float *dy, const float *x, size_t P, float mean,
			     float invstd, double *sum_dy, double *sum_dyx);
	/* returns the sum of dx (in sum's order) */
	double (*bn_grad_apply)(float *dx, const float *dy, const float *x, size_t P, float mean,
			      float invstd, float k, float a, float b);
	void (*wino_input)(float *V, size_t vs, size_t col0, const float *src, int H, int W,
			   int Th, int Tw, float *pad);
	void (*wino_output)(float *dst, const float *M, size_t ms, size_t col0, float bias,
			    int H, int W, int Th, int Tw);
	void (*wino_dout)(float *dM, size_t ms, size_t col0, const float *dy, int H, int W,
			  int Th, int Tw, float *pad);
	/* wino_input_pairs: wino_input of two planes, channels 2kp (src0) and
	 * 2kp+1 (src1; NULL: zeros), rounded to bf16 and written as pair row kp
	 * of the panels kgemm_with_b reads (kern.h: nr wide, rows pair rows a
	 * panel), V[k] at Vp + k*ks; the planes are read in place (masked
	 * loads, no padded copy). Only the tiles' columns are written. NULL
	 * where the path has no bf16 pairs kernel (all but the avx512 table). */
	void (*wino_input_pairs)(uint16_t *Vp, size_t ks, int nr, int rows, int kp, size_t col0,
				 const float *src0, const float *src1, int H, int W, int Th,
				 int Tw);
	/* 2x2 max pooling of one H x W plane (a last odd row or column is
	 * dropped): out and am (H/2 x W/2), am the index 0..3 of the winner in
	 * (row, column) order, the first of equals; pool2_back adds each
	 * output's gradient d to its winner in din */
	void (*pool2)(float *out, uint8_t *am, const float *in, int H, int W);
	void (*pool2_back)(float *din, const float *d, const uint8_t *am, int H, int W);
	/* the rows of a 2x2 transposed convolution: y[2i] = a[i] + c,
	 * y[2i+1] = b[i] + c (i < n); split2 the reverse: a[i] = y[2i],
	 * b[i] = y[2i+1] */
	void (*merge2)(float *y, const float *a, const float *b, int n, float c);
	void (*split2)(float *a, float *b, const float *y, int n);
	/* Winograd F(4x4,3x3) with 16 images in the lanes (wino4ops.h; NULL
	 * but in the avx512 table). A block: 16 planes of one channel, point
	 * (y, x) of a (4Th+2) x (4Tw+2) grid 16 floats (lane l: image l), the
	 * plane at offset (1, 1), the border left as the caller zeroed it.
	 *   w4_gather:  the block of n (<= 16) planes src + l*HW (H, W); lanes
	 *               n.. zero
	 *   w4_input:   V[k][col0 + 16t + l] (k = 0..35, stride vs) = B^T d B
	 *               of tile t (row-major, Th x Tw) of a block
	 *   w4_input_pairs: the same of two blocks (channels 2kp, 2kp+1; blk1
	 *               NULL: zeros) as bf16 pair row kp of kgemm_with_b's
	 *               panels (as wino_input_pairs)
	 *   w4_output:  n planes dst + l*HW (H, W) = A^T M A + bias of those
	 *               columns of M[k] (stride ms); obuf: 256 Th Tw floats */
	void (*w4_gather)(float *blk, const float *src, size_t HW, int n, int H, int W, int Th,
			  int Tw);
	void (*w4_input)(float *V, size_t vs, size_t col0, const float *blk, int Th, int Tw);
	void (*w4_input_pairs)(uint16_t *Vp, size_t ks, int nr, int rows, int kp, size_t col0,
			       const float *blk0, const float *blk1, int Th, int Tw);
	void (*w4_output)(float *dst, size_t HW, int n, const float *M, size_t ms, size_t col0,
			  float bias, int H, int W, int Th, int Tw, float *obuf);
} kern_vec;

extern const kern_vec kern_vec_portable, kern_vec_avx2, kern_vec_avx512;

const kern_vec *kvec(void);

#endif
