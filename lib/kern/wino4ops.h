/* wino4ops.h: the transforms of Winograd F(4x4,3x3) (nn_winograd.c has the
 * algorithm), part of vecops.h's avx512 table (vec.h): 16 images in the
 * lanes, so every step of a transform is a whole-vector operation on one
 * tile position of 16 planes. Included by vecops.h only, under AVX-512.
 *
 * A block holds 16 planes of one channel transposed: position (y, x) of a
 * (4 Th + 2) x (4 Tw + 2) grid is 16 floats, lane l image l, the plane at
 * offset (1, 1); the border is never written. */

/* 16 vectors transposed in place: four rounds of interleaving vector i with
 * vector i + 8 (lanes 0..7 of both, then 8..15) */
static inline __attribute__((always_inline)) void transpose16(v16 r[16])
{
	for (int s = 0; s < 4; s++) {
		v16 t[16];
		for (int i = 0; i < 8; i++) {
			t[2 * i] = __builtin_shuffle(r[i], r[i + 8], LO);
			t[2 * i + 1] = __builtin_shuffle(r[i], r[i + 8], HI);
		}
		for (int i = 0; i < 16; i++)
			r[i] = t[i];
	}
}

/* blk = n (<= 16) planes src + l HW (H, W) as a block; lanes n.. zero */
static void w4_gather(float *blk, const float *src, size_t HW, int n, int H, int W, int Th, int Tw)
{
	size_t Wp = 4 * (size_t)Tw + 2;

	(void)H;
	(void)Th;
	for (size_t p0 = 0; p0 < HW; p0 += 16) {
		int m = HW - p0 < 16 ? (int)(HW - p0) : 16;
		__mmask16 mk = (__mmask16)((1u << m) - 1);
		v16 r[16];
		for (int l = 0; l < 16; l++)
			r[l] = l < n ? (v16)_mm512_maskz_loadu_ps(mk, src + l * HW + p0) : (v16){ 0 };
		transpose16(r);
		size_t y = p0 / W, x = p0 % W;
		for (int j = 0; j < m; j++) {
			ST(blk + ((y + 1) * Wp + x + 1) * 16, r[j]);
			if (++x == (size_t)W) {
				x = 0;
				y++;
			}
		}
	}
}

/* y = B^T x, B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
 *                   0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1] */
static inline __attribute__((always_inline)) void bt6(const v16 x[6], v16 y[6])
{
	v16 p = x[3] + x[4], q = x[4] - x[3], r = x[1] + x[2], s = x[1] - x[2];
	v16 u = x[4] - x[2], v = x[3] - x[1];

	y[0] = 4.0f * x[0] - 5.0f * x[2] + x[4];
	y[1] = p - 4.0f * r;
	y[2] = q + 4.0f * s;
	y[3] = u + 2.0f * v;
	y[4] = u - 2.0f * v;
	y[5] = 4.0f * x[1] - 5.0f * x[3] + x[5];
}

/* V[6i + j] = (B^T d B)[i][j] of tile (ty, tx) of a block */
static inline __attribute__((always_inline)) void w4_tile_in(const float *blk, int Tw, int ty, int tx,
							      v16 V[36])
{
	size_t Wp = 4 * (size_t)Tw + 2;
	const float *b = blk + ((size_t)(4 * ty) * Wp + 4 * (size_t)tx) * 16;
	v16 t[6][6];

	for (int j = 0; j < 6; j++) {
		v16 x[6], y[6];
		for (int i = 0; i < 6; i++)
			x[i] = LD(b + ((size_t)i * Wp + j) * 16);
		bt6(x, y);
		for (int i = 0; i < 6; i++)
			t[i][j] = y[i];
	}
	for (int i = 0; i < 6; i++)
		bt6(t[i], V + 6 * i);
}

/* V[k][col0 + 16 t + l] (k stride vs) of every tile t of a block */
static void w4_input(float *V, size_t vs, size_t col0, const float *blk, int Th, int Tw)
{
	for (int ty = 0; ty < Th; ty++)
		for (int tx = 0; tx < Tw; tx++) {
			v16 v[36];
			w4_tile_in(blk, Tw, ty, tx, v);
			float *d = V + col0 + 16 * ((size_t)ty * Tw + tx);
			for (int k = 0; k < 36; k++)
				ST(d + k * vs, v[k]);
		}
}

/* the same of two blocks (channels 2kp and 2kp+1; blk1 NULL: zeros) as
 * bf16 pair row kp of the panels, V[k] at Vp + k ks */
static void w4_input_pairs(uint16_t *Vp, size_t ks, int nr, int rows, int kp, size_t col0,
			   const float *blk0, const float *blk1, int Th, int Tw)
{
	for (int ty = 0; ty < Th; ty++)
		for (int tx = 0; tx < Tw; tx++) {
			v16 a[36], b[36];
			w4_tile_in(blk0, Tw, ty, tx, a);
			if (blk1)
				w4_tile_in(blk1, Tw, ty, tx, b);
			else
				for (int k = 0; k < 36; k++)
					b[k] = (v16){ 0 };
			size_t c = col0 + 16 * ((size_t)ty * Tw + tx);
			for (int k = 0; k < 36; k++)
				store_pairs(Vp + k * ks, nr, rows, kp, c, bf16_pairs(a[k], b[k]), 16);
		}
}

/* y = A^T x, A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1] */
static inline __attribute__((always_inline)) void at6(const v16 x[6], v16 y[4])
{
	v16 a = x[1] + x[2], b = x[1] - x[2], c = x[3] + x[4], d = x[3] - x[4];

	y[0] = x[0] + a + c;
	y[1] = b + 2.0f * d;
	y[2] = a + 4.0f * c;
	y[3] = b + 8.0f * d + x[5];
}

/* n (<= 16) planes dst + l HW (H, W) = A^T M A + bias of the tiles at
 * M[k][col0 + 16 t + l] (k stride ms); obuf: 256 Th Tw floats of scratch */
static void w4_output(float *dst, size_t HW, int n, const float *M, size_t ms, size_t col0,
		      float bias, int H, int W, int Th, int Tw, float *obuf)
{
	size_t W4 = 4 * (size_t)Tw;

	(void)H;
	for (int ty = 0; ty < Th; ty++)
		for (int tx = 0; tx < Tw; tx++) {
			const float *m = M + col0 + 16 * ((size_t)ty * Tw + tx);
			v16 s[4][6];
			for (int j = 0; j < 6; j++) {
				v16 x[6], y[4];
				for (int i = 0; i < 6; i++)
					x[i] = LD(m + (size_t)(6 * i + j) * ms);
				at6(x, y);
				for (int r = 0; r < 4; r++)
					s[r][j] = y[r];
			}
			for (int r = 0; r < 4; r++) {
				v16 y[4];
				at6(s[r], y);
				float *o = obuf + ((size_t)(4 * ty + r) * W4 + 4 * (size_t)tx) * 16;
				for (int c = 0; c < 4; c++)
					ST(o + 16 * c, y[c] + bias);
			}
		}
	for (size_t p0 = 0; p0 < HW; p0 += 16) {
		int m = HW - p0 < 16 ? (int)(HW - p0) : 16;
		__mmask16 mk = (__mmask16)((1u << m) - 1);
		size_t y = p0 / W, x = p0 % W;
		v16 r[16];
		for (int j = 0; j < 16; j++) {
			r[j] = j < m ? LD(obuf + (y * W4 + x) * 16) : (v16){ 0 };
			if (++x == (size_t)W) {
				x = 0;
				y++;
			}
		}
		transpose16(r);
		for (int l = 0; l < n; l++)
			_mm512_mask_storeu_ps(dst + l * HW + p0, mk, (__m512)r[l]);
	}
}
