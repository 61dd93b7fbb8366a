/* What the addon's C files share: a convolution's geometry, its three kinds, and the vector type of their loops. */
#ifndef EKSPRESI_KERNELS_H
#define EKSPRESI_KERNELS_H
#include <stddef.h>
#include <stdint.h>

/* Geometry of a convolution, in the order the TypeScript side packs it. */
typedef struct {
  int32_t n, h, w, c;     /* input */
  int32_t kh, kw, co;     /* filter: kh x kw x c x co */
  int32_t sh, sw, pt, pl; /* strides, padding before (top, left) */
  int32_t oh, ow;         /* output */
} Geom;
#define GEOM_INTS 13

/* The three convolutions share their operands: input X, filter W, output Y; each computes one from the other two. */
typedef enum { FORWARD, GRAD_INPUT, GRAD_FILTER } Kind;

/* Loops over channels run on the CPU's widest vectors: clones for AVX-512 and AVX2, picked when the addon loads. */
#if defined(__x86_64__) && defined(__GNUC__) && defined(__GLIBC__) /* ifunc: glibc only */
#define VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VECTOR_CLONES
#endif

#define LANES 8
/* LANES floats as one value: GCC/Clang vector extensions, lowered to each clone's instructions; aligned(4) allows unaligned loads. */
typedef float vlanes __attribute__((vector_size(LANES * sizeof(float)), aligned(4)));
#define VLOAD(p) (*(const vlanes *)(p))
#define VSTORE(p, v) (*(vlanes *)(p) = (v))

#endif
