/* otsu.h: Otsu's threshold on 8-bit histograms. */
#ifndef SEGPIPE_OTSU_H
#define SEGPIPE_OTSU_H
#include <stdint.h>

/* otsu_threshold: t in 0..255 maximising the between-class variance of a
 * 256-bin histogram, class 0 being values <= t; the first maximum wins
 * (OpenCV's THRESH_OTSU, scikit-image's threshold_otsu). Returns 255 when no
 * split exists, so a uniform image is all background. */
int otsu_threshold(const int64_t hist[256]);
/* quantise8: a [0,1] intensity as the 8-bit value round(255 x), clamped. */
int quantise8(float v);

#endif
