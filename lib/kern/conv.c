/* conv.c: the face of the direct 3x3 convolution (kern.h): which path has
 * one, the weights packed for it, the gradient's layout back to the
 * layers'. The arithmetic is the path's own file (amx_conv.c). */
#include <stdlib.h>
#include <string.h>

#include "kern.h"
#include "ukr.h"
#include "util.h"

struct kconv_w {
	int Ci, Co, nkc;
	float *bias;        /* [Co][16]: b[co] 16 times, a tile row a channel */
	uint16_t *p;        /* [Co/16][9][nkc][16 co][32 ci], bf16; Ci 16:
	                     * [Co/16][3 ky][2][16 co][32] (amx_conv.c) */
};

int kconv_ok(int Ci, int Co, int H, int W)
{
	return kern_current() == KPATH_AMX && kern_get_precision() == KERN_BF16 && Ci > 0 &&
	       Co > 0 && Ci % 16 == 0 && Co % 16 == 0 && H >= 1 && W >= 6;
}

kconv_w *kconv_w_alloc(int Ci, int Co)
{
	kconv_w *k = xcalloc(1, sizeof *k);
	int nkc = (Ci + 31) / 32, nst = Ci == 16 ? 6 : 9 * nkc;
	size_t n = (size_t)Co / 16 * nst * 512;

	*k = (kconv_w){ Ci, Co, nkc, NULL, NULL };
	if (posix_memalign((void **)&k->p, 64, n * sizeof(uint16_t)) != 0 ||
	    posix_memalign((void **)&k->bias, 64, (size_t)Co * 16 * sizeof(float)) != 0)
		die("out of memory (%zu bytes for packed weights)", n * sizeof(uint16_t));
	return k;
}

/* the weight of (co, ci, tap t) of the packed convolution: of w (Co, Ci, 3,
 * 3), or with flip, of the convolution whose input gradient this is, w (Ci,
 * Co, 3, 3) flipped in space and transposed */
static inline float weight(const float *w, int Ci, int Co, int co, int ci, int t, int flip)
{
	return flip ? w[((size_t)ci * Co + co) * 9 + 8 - t] : w[((size_t)co * Ci + ci) * 9 + t];
}

/* the packed rows are runs of 32 ci of one (co, step), bf16, ci past Ci
 * zero; Ci 16: step (ky, j), j 0 holds taps kx 0 and 1, j 1 tap kx 2 and
 * zeros (amx_conv.c) */
void kconv_w_set(kconv_w *k, const float *w, const float *b, int flip, int cob0, int cob1)
{
	int Ci = k->Ci, Co = k->Co, nkc = k->nkc, nst = Ci == 16 ? 6 : 9 * nkc;
	uint16_t *d = k->p + (size_t)cob0 * nst * 512;

	for (int co = cob0 * 16; co < cob1 * 16; co++)
		for (int i = 0; i < 16; i++)
			k->bias[co * 16 + i] = b ? b[co] : 0.0f;
	for (int cob = cob0; cob < cob1; cob++)
		for (int st = 0; st < nst; st++)
			for (int r = 0; r < 16; r++, d += 32) {
				int co = cob * 16 + r;
				if (Ci == 16) {
					int ky = st / 2, j = st % 2;
					for (int ci = 0; ci < 16; ci++) {
						d[ci] = kern_to_bf16(weight(w, Ci, Co, co, ci, 3 * ky + 2 * j, flip));
						d[16 + ci] = j ? 0 : kern_to_bf16(weight(w, Ci, Co, co, ci, 3 * ky + 1, flip));
					}
				} else {
					int t = st / nkc, c0 = st % nkc * 32;
					for (int i = 0; i < 32; i++)
						d[i] = c0 + i < Ci ? kern_to_bf16(weight(w, Ci, Co, co, c0 + i, t, flip)) : 0;
				}
			}
}

kconv_w *kconv_pack_w(const float *w, const float *b, int Ci, int Co)
{
	kconv_w *k = kconv_w_alloc(Ci, Co);
	kconv_w_set(k, w, b, 0, 0, Co / 16);
	return k;
}

void kconv_w_free(kconv_w *w)
{
	if (w) {
		free(w->p);
		free(w->bias);
		free(w);
	}
}

/* images at a time: on small planes, as many as make a run of about
 * KCONV_GROUP_Q grid positions ((H + 1) (W + 2) an image), within
 * KCONV_GROUP_BYTES of bf16 planes ((Ci + Co) of them an image), so the
 * weight gradient's sums are loaded and stored once for many images, not
 * once an image for a few tile steps. bench/ A-B, one process, median of
 * paired runs, batch 64 (AMX Xeon, 2026-12-03), against one image at a
 * time: weight gradient 1.12-1.25x at 14x14, 1.43x at 7x7 (64->64),
 * 1.55x at 8x8 (256->256), forward 1.1-1.5x at 7x7 and 14x14; at 28x28
 * and up groups gained nothing or lost (0.87-0.99x: the planes of one
 * image already fill the steps, and more leave L1), so they take G = 1.
 * SEGPIPE_KCONV_GROUP=G in the environment or kconv_force_group(G) forces
 * G (0: the rule again), for tests and A-B runs. */
#define KCONV_GROUP_Q 1024
#define KCONV_GROUP_BYTES (1024L * 1024)

static int forced = -1;

void kconv_force_group(int G)
{
	forced = G > 0 ? G : 0;
}

int kconv_group(int Ci, int Co, int H, int W)
{
	if (forced < 0) {
		const char *e = getenv("SEGPIPE_KCONV_GROUP");
		forced = e && atoi(e) > 0 ? atoi(e) : 0;
	}
	if (forced > 0)
		return forced;
	long q = (long)(H + 1) * (W + 2), per = (Ci + Co) * q * 2;
	long g = KCONV_GROUP_Q / q, cap = KCONV_GROUP_BYTES / per;
	g = g < cap ? g : cap;
	return g < 1 ? 1 : (int)g;
}

void kconv_forward(const kconv_w *w, float *out, long ocs, const float *inp, long ics, int H,
		   int W, int G)
{
	kern_amx_conv_forward(out, ocs, inp, ics, w->p, w->bias, w->Ci, w->Co, H, W, G);
}

size_t kconv_acc_floats(int Ci, int Co)
{
	return (size_t)9 * Ci * Co;
}

void kconv_wgrad(float *acc, const float *dout, long dcs, const float *inp, long ics, int Ci,
		 int Co, int H, int W, int G)
{
	kern_amx_conv_wgrad(acc, dout, dcs, inp, ics, Ci, Co, H, W, G);
}

void kconv_acc_add(float *dw, const float *acc, int nacc, int Ci, int Co, int ci0, int ci1)
{
	size_t na = kconv_acc_floats(Ci, Co);

	for (int ci = ci0; ci < ci1; ci++)
		for (int t = 0; t < 9; t++) {
			const float *a = acc + ((size_t)t * Ci + ci) * Co;
			float *d = dw + (size_t)ci * 9 + t;
			for (int co = 0; co < Co; co++) {
				float s = a[co];
				for (int j = 1; j < nacc; j++)
					s += a[j * na + co];
				d[(size_t)co * Ci * 9] += s;
			}
		}
}
