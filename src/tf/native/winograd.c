/*
 * 3x3 stride-1 'same' convolutions (the custom CNN's) by Winograd's minimal filtering F(2x2, 3x3)
 * (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). Each 2x2 output tile is
 *   A^T [(G g G^T) . (B^T d B)] A
 * of its 4x4 input tile d and the 3x3 filter g: after the transforms, a layer is 16 matrix products
 * [tiles x c] @ [c x co], 16 multiply-adds per 4 outputs where im2col's one product takes 36.
 * The gradients are the same products transposed:
 *   input grad:  the forward of dy with the filter turned 180 degrees and c, co swapped (TURN below);
 *   filter grad: G^T [sum over tiles of (B^T d B) . (A dy A^T)] G, 16 products [c x tiles] @ [tiles x co].
 * Tiles go a chunk of images at a time (about WINO_TILES of them), so the transformed matrices of a
 * chunk stay small enough for the caches. Rounding: sums of a few more terms than im2col's, still
 * within 1e-6 of the largest output in float.
 */
#include "winograd.h"

#include <cblas.h>
#include <string.h>

/* Tiles per chunk: 256 to 1152 ran alike (within the noise) on 6x6 to 24x24 maps of 64-512 channels. */
#define WINO_TILES 768
/* Narrower layers (the first conv, 1 channel in) keep im2col, whose one product is already small. */
#define WINO_MIN_CHANNELS 16
/* The transformed tile's 16 entries: e = 4 * row + column. */
#define E 16

int winograd_fits(const Geom *g) {
  return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->pt == 1 && g->pl == 1 && g->oh == g->h && g->ow == g->w &&
         g->c >= WINO_MIN_CHANNELS && g->co >= WINO_MIN_CHANNELS;
}

static size_t tiles_per_image(const Geom *g) { return (size_t)((g->h + 1) / 2) * ((g->w + 1) / 2); }

static int chunk_of(const Geom *g) {
  const size_t per = tiles_per_image(g);
  const int step = per >= WINO_TILES ? 1 : (int)(WINO_TILES / per);
  return step > g->n ? g->n : step;
}

static size_t wider(const Geom *g) { return (size_t)(g->c > g->co ? g->c : g->co); }

size_t winograd_scratch(const Geom *g) {
  const size_t ck = (size_t)g->c * g->co, tiles = (size_t)chunk_of(g) * tiles_per_image(g), wide = wider(g);
  /* U (or S), V and M (or Z), a zero row, 4 rows for outputs past the edge. */
  return E * ck + 2 * E * tiles * wide + 5 * wide;
}

/* U[e][c][k] = (G g G^T)[e] of each filter g = w[., ., c, k], w in HWIO order [3][3][C][K]. */
VECTOR_CLONES static void transform_filter(const float *restrict w, int C, int K, float *restrict U) {
  const size_t ck = (size_t)C * K;
  for (int c = 0; c < C; c++) {
    const float *f[9];
    float *u[E];
    for (int j = 0; j < 9; j++) f[j] = w + (size_t)j * ck + (size_t)c * K;
    for (int e = 0; e < E; e++) u[e] = U + e * ck + (size_t)c * K;
    int k = 0;
    for (; k <= K - LANES; k += LANES) {
      vlanes t[4][3];
      for (int b = 0; b < 3; b++) {
        const vlanes f0 = VLOAD(f[b] + k), f1 = VLOAD(f[3 + b] + k), f2 = VLOAD(f[6 + b] + k);
        t[0][b] = f0, t[1][b] = 0.5f * (f0 + f1 + f2), t[2][b] = 0.5f * (f0 - f1 + f2), t[3][b] = f2;
      }
      for (int a = 0; a < 4; a++) {
        VSTORE(u[4 * a] + k, t[a][0]);
        VSTORE(u[4 * a + 1] + k, 0.5f * (t[a][0] + t[a][1] + t[a][2]));
        VSTORE(u[4 * a + 2] + k, 0.5f * (t[a][0] - t[a][1] + t[a][2]));
        VSTORE(u[4 * a + 3] + k, t[a][2]);
      }
    }
    for (; k < K; k++) {
      float t[4][3];
      for (int b = 0; b < 3; b++) {
        const float f0 = f[b][k], f1 = f[3 + b][k], f2 = f[6 + b][k];
        t[0][b] = f0, t[1][b] = 0.5f * (f0 + f1 + f2), t[2][b] = 0.5f * (f0 - f1 + f2), t[3][b] = f2;
      }
      for (int a = 0; a < 4; a++) {
        u[4 * a][k] = t[a][0];
        u[4 * a + 1][k] = 0.5f * (t[a][0] + t[a][1] + t[a][2]);
        u[4 * a + 2][k] = 0.5f * (t[a][0] - t[a][1] + t[a][2]);
        u[4 * a + 3][k] = t[a][2];
      }
    }
  }
}

/*
 * V[e][t][c] = (B^T d B)[e] of the 4x4 input tiles of images [i0, i1) (tile t at rows 2ty-1.., columns
 * 2tx-1..; `zero` stands for the padding), x of `C` channels.
 */
VECTOR_CLONES static void transform_input(const Geom *g, const float *restrict x, int C, int i0, int i1, size_t T,
                                          const float *restrict zero, float *restrict V) {
  const int ty_n = (g->h + 1) / 2, tx_n = (g->w + 1) / 2;
  size_t t = 0;
  for (int i = i0; i < i1; i++)
    for (int ty = 0; ty < ty_n; ty++)
      for (int tx = 0; tx < tx_n; tx++, t++) {
        const float *p[E];
        float *v[E];
        for (int a = 0; a < 4; a++)
          for (int b = 0; b < 4; b++) {
            const int iy = 2 * ty - 1 + a, ix = 2 * tx - 1 + b;
            p[4 * a + b] = iy < 0 || iy >= g->h || ix < 0 || ix >= g->w ? zero : x + (((size_t)i * g->h + iy) * g->w + ix) * C;
          }
        for (int e = 0; e < E; e++) v[e] = V + (e * T + t) * C;
        int c = 0;
        for (; c <= C - LANES; c += LANES) {
          vlanes r[4][4];
          for (int b = 0; b < 4; b++) {
            const vlanes d0 = VLOAD(p[b] + c), d1 = VLOAD(p[4 + b] + c), d2 = VLOAD(p[8 + b] + c), d3 = VLOAD(p[12 + b] + c);
            r[0][b] = d0 - d2, r[1][b] = d1 + d2, r[2][b] = d2 - d1, r[3][b] = d1 - d3;
          }
          for (int a = 0; a < 4; a++) {
            VSTORE(v[4 * a] + c, r[a][0] - r[a][2]);
            VSTORE(v[4 * a + 1] + c, r[a][1] + r[a][2]);
            VSTORE(v[4 * a + 2] + c, r[a][2] - r[a][1]);
            VSTORE(v[4 * a + 3] + c, r[a][1] - r[a][3]);
          }
        }
        for (; c < C; c++) {
          float r[4][4];
          for (int b = 0; b < 4; b++) {
            const float d0 = p[b][c], d1 = p[4 + b][c], d2 = p[8 + b][c], d3 = p[12 + b][c];
            r[0][b] = d0 - d2, r[1][b] = d1 + d2, r[2][b] = d2 - d1, r[3][b] = d1 - d3;
          }
          for (int a = 0; a < 4; a++) {
            v[4 * a][c] = r[a][0] - r[a][2];
            v[4 * a + 1][c] = r[a][1] + r[a][2];
            v[4 * a + 2][c] = r[a][2] - r[a][1];
            v[4 * a + 3][c] = r[a][1] - r[a][3];
          }
        }
      }
}

/* The 2x2 output tiles A^T M[.][t] A of images [i0, i1) into y of `K` channels; outputs past the edge go to `spill`. */
VECTOR_CLONES static void transform_output(const Geom *g, const float *restrict M, int K, int i0, int i1, size_t T, float *restrict spill,
                                           float *restrict y) {
  const int ty_n = (g->h + 1) / 2, tx_n = (g->w + 1) / 2;
  size_t t = 0;
  for (int i = i0; i < i1; i++)
    for (int ty = 0; ty < ty_n; ty++)
      for (int tx = 0; tx < tx_n; tx++, t++) {
        const float *m[E];
        float *o[4];
        for (int e = 0; e < E; e++) m[e] = M + (e * T + t) * K;
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < 2; b++) {
            const int oy = 2 * ty + a, ox = 2 * tx + b;
            o[2 * a + b] = oy < g->h && ox < g->w ? y + (((size_t)i * g->h + oy) * g->w + ox) * K : spill + (2 * a + b) * (size_t)K;
          }
        int k = 0;
        for (; k <= K - LANES; k += LANES) {
          vlanes s[2][4];
          for (int b = 0; b < 4; b++) {
            const vlanes m0 = VLOAD(m[b] + k), m1 = VLOAD(m[4 + b] + k), m2 = VLOAD(m[8 + b] + k), m3 = VLOAD(m[12 + b] + k);
            s[0][b] = m0 + m1 + m2, s[1][b] = m1 - m2 - m3;
          }
          for (int a = 0; a < 2; a++) {
            VSTORE(o[2 * a] + k, s[a][0] + s[a][1] + s[a][2]);
            VSTORE(o[2 * a + 1] + k, s[a][1] - s[a][2] - s[a][3]);
          }
        }
        for (; k < K; k++) {
          float s[2][4];
          for (int b = 0; b < 4; b++) {
            const float m0 = m[b][k], m1 = m[4 + b][k], m2 = m[8 + b][k], m3 = m[12 + b][k];
            s[0][b] = m0 + m1 + m2, s[1][b] = m1 - m2 - m3;
          }
          for (int a = 0; a < 2; a++) {
            o[2 * a][k] = s[a][0] + s[a][1] + s[a][2];
            o[2 * a + 1][k] = s[a][1] - s[a][2] - s[a][3];
          }
        }
      }
}

/* Z[e][t][k] = (A q A^T)[e] of the 2x2 tiles q of dy (K channels) of images [i0, i1); `zero` past the edge. */
VECTOR_CLONES static void transform_gradient(const Geom *g, const float *restrict dy, int K, int i0, int i1, size_t T,
                                             const float *restrict zero, float *restrict Z) {
  const int ty_n = (g->h + 1) / 2, tx_n = (g->w + 1) / 2;
  size_t t = 0;
  for (int i = i0; i < i1; i++)
    for (int ty = 0; ty < ty_n; ty++)
      for (int tx = 0; tx < tx_n; tx++, t++) {
        const float *q[4];
        float *z[E];
        for (int a = 0; a < 2; a++)
          for (int b = 0; b < 2; b++) {
            const int oy = 2 * ty + a, ox = 2 * tx + b;
            q[2 * a + b] = oy < g->h && ox < g->w ? dy + (((size_t)i * g->h + oy) * g->w + ox) * K : zero;
          }
        for (int e = 0; e < E; e++) z[e] = Z + (e * T + t) * K;
        int k = 0;
        for (; k <= K - LANES; k += LANES) {
          const vlanes q0 = VLOAD(q[0] + k), q1 = VLOAD(q[1] + k), q2 = VLOAD(q[2] + k), q3 = VLOAD(q[3] + k);
          /* rows of A q: q's first row, their sum, their difference, minus the second row */
          const vlanes r[4][2] = {{q0, q1}, {q0 + q2, q1 + q3}, {q0 - q2, q1 - q3}, {-q2, -q3}};
          for (int a = 0; a < 4; a++) {
            VSTORE(z[4 * a] + k, r[a][0]);
            VSTORE(z[4 * a + 1] + k, r[a][0] + r[a][1]);
            VSTORE(z[4 * a + 2] + k, r[a][0] - r[a][1]);
            VSTORE(z[4 * a + 3] + k, -r[a][1]);
          }
        }
        for (; k < K; k++) {
          const float q0 = q[0][k], q1 = q[1][k], q2 = q[2][k], q3 = q[3][k];
          const float r[4][2] = {{q0, q1}, {q0 + q2, q1 + q3}, {q0 - q2, q1 - q3}, {-q2, -q3}};
          for (int a = 0; a < 4; a++) {
            z[4 * a][k] = r[a][0];
            z[4 * a + 1][k] = r[a][0] + r[a][1];
            z[4 * a + 2][k] = r[a][0] - r[a][1];
            z[4 * a + 3][k] = -r[a][1];
          }
        }
      }
}

/* dw[a][b][c][k] = (G^T S G)[a][b] of S[e][c][k]: the filter gradient from the 16 summed products. */
VECTOR_CLONES static void untransform_filter(const float *restrict S, int C, int K, float *restrict dw) {
  const size_t ck = (size_t)C * K;
  for (size_t j = 0; j < ck; j += LANES) {
    const size_t n = ck - j < LANES ? ck - j : LANES;
    vlanes s[E], q[3][4];
    for (int e = 0; e < E; e++)
      if (n == LANES) s[e] = VLOAD(S + e * ck + j);
      else
        for (size_t l = 0; l < LANES; l++) s[e][l] = l < n ? S[e * ck + j + l] : 0.f;
    /* rows of G^T S: G^T's rows are (1, 1/2, 1/2, 0), (0, 1/2, -1/2, 0), (0, 1/2, 1/2, 1) */
    for (int b = 0; b < 4; b++) {
      q[0][b] = s[b] + 0.5f * (s[4 + b] + s[8 + b]);
      q[1][b] = 0.5f * (s[4 + b] - s[8 + b]);
      q[2][b] = 0.5f * (s[4 + b] + s[8 + b]) + s[12 + b];
    }
    for (int a = 0; a < 3; a++) {
      const vlanes d[3] = {q[a][0] + 0.5f * (q[a][1] + q[a][2]), 0.5f * (q[a][1] - q[a][2]), 0.5f * (q[a][1] + q[a][2]) + q[a][3]};
      for (int b = 0; b < 3; b++) {
        float *out = dw + (size_t)(3 * a + b) * ck + j;
        if (n == LANES) VSTORE(out, d[b]);
        else
          for (size_t l = 0; l < n; l++) out[l] = d[b][l];
      }
    }
  }
}

/*
 * The input gradient's filter is g turned 180 degrees, J g J (J reverses 3 rows), with c and co swapped.
 * G J = P G, where P swaps rows 0 and 3, so its transform is P U P^T: entry (i, j) of U at (TURN[i], TURN[j]),
 * used transposed. No turned copy is made.
 */
static const int TURN[4] = {3, 1, 2, 0};

void winograd_conv(Kind kind, const Geom *g, float *X, float *W, float *Y, float *scratch) {
  const int step = chunk_of(g), C = g->c, K = g->co;
  const size_t per = tiles_per_image(g), ck = (size_t)C * K, wide = wider(g), most = step * per;
  float *U = scratch, *V = U + E * ck, *M = V + E * most * wide, *zero = M + E * most * wide, *spill = zero + wide;
  memset(zero, 0, wide * sizeof(float));
  if (kind != GRAD_FILTER) transform_filter(W, C, K, U);
  for (int i0 = 0; i0 < g->n; i0 += step) {
    const int i1 = i0 + step < g->n ? i0 + step : g->n;
    const size_t T = (size_t)(i1 - i0) * per;
    if (kind == FORWARD) {
      transform_input(g, X, C, i0, i1, T, zero, V);
      for (int e = 0; e < E; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, T, K, C, 1.f, V + e * T * C, C, U + e * ck, K, 0.f, M + e * T * K, K);
      transform_output(g, M, K, i0, i1, T, spill, Y);
    } else if (kind == GRAD_INPUT) {
      /* the forward from dy (K channels) to dx (C), with the turned filter's transform */
      transform_input(g, Y, K, i0, i1, T, zero, V);
      for (int e = 0; e < E; e++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, C, K, 1.f, V + e * T * K, K, U + (4 * TURN[e / 4] + TURN[e % 4]) * ck, K,
                    0.f, M + e * T * C, C);
      transform_output(g, M, C, i0, i1, T, spill, X);
    } else {
      transform_input(g, X, C, i0, i1, T, zero, V);
      transform_gradient(g, Y, K, i0, i1, T, zero, M);
      for (int e = 0; e < E; e++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, C, K, T, 1.f, V + e * T * C, C, M + e * T * K, K, i0 == 0 ? 0.f : 1.f,
                    U + e * ck, K);
    }
  }
  if (kind == GRAD_FILTER) untransform_filter(U, C, K, W);
}
