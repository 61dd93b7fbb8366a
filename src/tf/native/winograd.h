/* 3x3 stride-1 'same' convolutions by Winograd's F(2x2, 3x3): winograd.c. */
#ifndef EKSPRESI_WINOGRAD_H
#define EKSPRESI_WINOGRAD_H
#include "kernels.h"

/* Whether this geometry takes the Winograd route (3x3, stride 1, 'same', 16 channels or more in and out). */
int winograd_fits(const Geom *g);
/* Floats of scratch that winograd_conv needs (any kind). */
size_t winograd_scratch(const Geom *g);
/* One of the three convolutions (kernels.h), writing the operand that `kind` computes. */
void winograd_conv(Kind kind, const Geom *g, float *X, float *W, float *Y, float *scratch);
#endif
