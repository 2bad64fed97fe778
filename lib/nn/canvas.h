/* canvas.h: between the (N,C,H,W) images a network is given and the
 * (C,N,Hp,Wp) canvas it runs on inside.
 *
 * The U-Net and the FCN-8 take any H x W: they pad the image with zeros at
 * the bottom and right to a size their poolings divide (Hp >= H,
 * Wp >= W), run on that, and crop the logits back to H x W; the loss sees
 * only the cropped logits, and the padding gets no gradient. The CNN loads
 * its images with Hp = H, Wp = W. Every copy is exact.
 */
#ifndef SEGPIPE_CANVAS_H
#define SEGPIPE_CANVAS_H

#include "nn.h"

// out (C,N,Hp,Wp), inp (N,C,H,W): the image at the top left, zeros around
void canvas_load(float *out, const float *inp, int C, int N, int H, int W, int Hp, int Wp);
// out (N,C,H,W), inp (C,N,Hp,Wp): the top-left H x W of each plane
void canvas_store(float *out, const float *inp, int C, int N, int H, int W, int Hp, int Wp);

/* canvas_loss: the loss of the top-left H x W of logits against target
 * (float (N,C,H,W) for bce and mse, uint8 class indices (N,H,W) for ce),
 * and its gradient on the canvas, zero in the padding. crop, dcrop and tgt
 * are scratch of C*N*H*W floats each. */
// dlogits (C,N,Hp,Wp) written, logits (C,N,Hp,Wp)
float canvas_loss(float *dlogits, const float *logits, const void *target, float *crop,
		  float *dcrop, float *tgt, int C, int N, int H, int W, int Hp, int Wp,
		  loss_kind loss);

#endif
