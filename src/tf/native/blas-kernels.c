/*
 * Convolutions and matrix products for the wasm backend, on OpenBLAS.
 *
 * XNNPACK inside wasm is limited to 128-bit SIMD; the CPU's own GEMM (AVX2 or
 * AVX-512) runs the same products several times faster. Every function works
 * in place on Float32Array views of the wasm heap (the tensors' own memory),
 * so nothing is copied in or out. Convolutions are im2col + one GEMM per
 * chunk of images (the patch matrix of a chunk stays under CHUNK_FLOATS); a
 * 1x1 stride-1 unpadded conv needs no patch matrix; 3x3 stride-1 'same' ones
 * with 16 channels or more take Winograd's F(2x2, 3x3) (winograd.c), 2.25
 * times fewer multiply-adds; depthwise convolutions
 * are direct loops (no GEMM). NHWC tensors, HWIO
 * filters, dilation 1: the TypeScript side falls back to the wasm kernels for
 * anything else.
 *
 * Subnormal floats take the CPU's slow path; the calling thread flushes them
 * to zero (FTZ/DAZ) while inside these functions, as TensorFlow does.
 */
#include <cblas.h>
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xmmintrin.h>

#include "kernels.h"
#include "winograd.h"

#define CHUNK_FLOATS (1 << 22)

enum { ACT_LINEAR = 0, ACT_RELU = 1, ACT_RELU6 = 2 };

static float *scratch = NULL;
static size_t scratch_len = 0;

static float *scratch_of(size_t len) {
  if (len > scratch_len) {
    free(scratch);
    scratch = malloc(len * sizeof(float));
    scratch_len = scratch ? len : 0;
  }
  return scratch;
}

static int is_pointwise(const Geom *g) {
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->pt == 0 && g->pl == 0 && g->oh == g->h && g->ow == g->w;
}

/* Images per chunk, so that a chunk's patch matrix holds at most CHUNK_FLOATS (at least one image). */
static int chunk_images(const Geom *g) {
  size_t per = (size_t)g->oh * g->ow * g->kh * g->kw * g->c;
  size_t k = per ? CHUNK_FLOATS / per : 1;
  if (k < 1) k = 1;
  return k > (size_t)g->n ? g->n : (int)k;
}

/* Patch matrix of images [i0, i1): row (i, oy, ox), column (a, b, ci). */
static void im2col(const Geom *g, const float *x, int i0, int i1, float *col) {
  const size_t k = (size_t)g->kh * g->kw * g->c;
  float *row = col;
  for (int i = i0; i < i1; i++) {
    const float *img = x + (size_t)i * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++, row += k) {
        float *dst = row;
        for (int a = 0; a < g->kh; a++) {
          const int iy = oy * g->sh - g->pt + a;
          for (int b = 0; b < g->kw; b++, dst += g->c) {
            const int ix = ox * g->sw - g->pl + b;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) memset(dst, 0, g->c * sizeof(float));
            else memcpy(dst, img + ((size_t)iy * g->w + ix) * g->c, g->c * sizeof(float));
          }
        }
      }
    }
  }
}

/* Adds the patch-matrix rows of images [i0, i1) back into their input positions (the transpose of im2col). */
static void col2im(const Geom *g, const float *col, int i0, int i1, float *dx) {
  const size_t k = (size_t)g->kh * g->kw * g->c;
  const float *row = col;
  for (int i = i0; i < i1; i++) {
    float *img = dx + (size_t)i * g->h * g->w * g->c;
    for (int oy = 0; oy < g->oh; oy++) {
      for (int ox = 0; ox < g->ow; ox++, row += k) {
        const float *src = row;
        for (int a = 0; a < g->kh; a++) {
          const int iy = oy * g->sh - g->pt + a;
          for (int b = 0; b < g->kw; b++, src += g->c) {
            const int ix = ox * g->sw - g->pl + b;
            if (iy < 0 || iy >= g->h || ix < 0 || ix >= g->w) continue;
            float *d = img + ((size_t)iy * g->w + ix) * g->c;
            for (int ci = 0; ci < g->c; ci++) d[ci] += src[ci];
          }
        }
      }
    }
  }
}

/* out[r, j] = act(out[r, j] + bias[j]) over rows x cols. */
static void bias_act(float *out, size_t rows, int cols, const float *bias, int act) {
  if (!bias && act == ACT_LINEAR) return;
  for (size_t r = 0; r < rows; r++) {
    float *o = out + r * cols;
    if (bias)
      for (int j = 0; j < cols; j++) o[j] += bias[j];
    if (act == ACT_RELU)
      for (int j = 0; j < cols; j++) o[j] = o[j] > 0 ? o[j] : 0;
    else if (act == ACT_RELU6)
      for (int j = 0; j < cols; j++) o[j] = o[j] > 0 ? (o[j] < 6 ? o[j] : 6) : 0;
  }
}

/*
 * Depthwise convolutions with one filter per channel (multiplier 1, as MobileNetV2 has): filter
 * [kh, kw, c], output channels = input channels. No GEMM here: each tap is a multiply-add over
 * the channels, which are contiguous in NHWC, so the loops below run on the CPU's widest vectors
 * (clones for AVX-512 and AVX2, picked when the addon loads) where wasm's are 128 bits.
 */

/* The input row and column of tap (a, b) for output (oy, ox), or -1 outside the image. */
static inline int tap_y(const Geom *g, int oy, int a) {
  const int iy = oy * g->sh - g->pt + a;
  return iy < 0 || iy >= g->h ? -1 : iy;
}
static inline int tap_x(const Geom *g, int ox, int b) {
  const int ix = ox * g->sw - g->pl + b;
  return ix < 0 || ix >= g->w ? -1 : ix;
}

/*
 * Both kernels below gather: each output value is a sum over a few taps, kept in registers a block
 * of LANES channels at a time (MobileNetV2's channel counts are multiples of 8), then stored once.
 */

/*
 * One output value of a gather: the sum over `nt` taps of src[src_at[t] + c] * f[f_at[t] + c], for every
 * channel c, written to o. The tap list is built once per output position, outside the channel loop.
 */
static inline void gather_taps(int C, int nt, const size_t *src_at, const size_t *f_at, const float *restrict src,
                               const float *restrict f, float *restrict o) {
  int c0 = 0;
  for (; c0 <= C - LANES; c0 += LANES) {
    vlanes acc = {0};
    for (int t = 0; t < nt; t++) acc += VLOAD(src + src_at[t] + c0) * VLOAD(f + f_at[t] + c0);
    VSTORE(o + c0, acc);
  }
  for (int c = c0; c < C; c++) {
    float acc = 0;
    for (int t = 0; t < nt; t++) acc += src[src_at[t] + c] * f[f_at[t] + c];
    o[c] = acc;
  }
}

/* y[n, oy, ox, c] = sum over taps (a, b) of x[n, oy * sh - pt + a, ox * sw - pl + b, c] * f[a, b, c] */
VECTOR_CLONES static void dw_forward(const Geom *g, const float *restrict x, const float *restrict f, float *restrict y) {
  const int C = g->c;
  size_t src_at[g->kh * g->kw], f_at[g->kh * g->kw];
  for (int n = 0; n < g->n; n++)
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->ow; ox++) {
        int nt = 0;
        for (int a = 0; a < g->kh; a++) {
          const int iy = oy * g->sh - g->pt + a;
          if (iy < 0 || iy >= g->h) continue;
          for (int b = 0; b < g->kw; b++) {
            const int ix = ox * g->sw - g->pl + b;
            if (ix < 0 || ix >= g->w) continue;
            src_at[nt] = (((size_t)n * g->h + iy) * g->w + ix) * C;
            f_at[nt++] = ((size_t)a * g->kw + b) * C;
          }
        }
        gather_taps(C, nt, src_at, f_at, x, f, y + (((size_t)n * g->oh + oy) * g->ow + ox) * C);
      }
}

/* dx[n, iy, ix, c] = sum of dy[n, oy, ox, c] * f[a, b, c] over the outputs (oy, ox) whose tap (a, b) reads (iy, ix) */
VECTOR_CLONES static void dw_grad_input(const Geom *g, const float *restrict dy, const float *restrict f, float *restrict dx) {
  const int C = g->c;
  size_t src_at[g->kh * g->kw], f_at[g->kh * g->kw];
  for (int n = 0; n < g->n; n++)
    for (int iy = 0; iy < g->h; iy++)
      for (int ix = 0; ix < g->w; ix++) {
        int nt = 0;
        for (int a = 0; a < g->kh; a++) {
          const int ty = iy + g->pt - a;
          if (ty < 0 || ty % g->sh || ty / g->sh >= g->oh) continue;
          for (int b = 0; b < g->kw; b++) {
            const int tx = ix + g->pl - b;
            if (tx < 0 || tx % g->sw || tx / g->sw >= g->ow) continue;
            src_at[nt] = (((size_t)n * g->oh + ty / g->sh) * g->ow + tx / g->sw) * C;
            f_at[nt++] = ((size_t)a * g->kw + b) * C;
          }
        }
        gather_taps(C, nt, src_at, f_at, dy, f, dx + (((size_t)n * g->h + iy) * g->w + ix) * C);
      }
}

/*
 * df[a, b, c] = sum over n, oy, ox of x[n, iy, ix, c] * dy[n, oy, ox, c]. Each image's sum is taken in
 * float (`part`), the sum over images in double (`acc`), so a large batch loses no precision.
 */
VECTOR_CLONES static void dw_grad_filter(const Geom *g, const float *restrict x, const float *restrict dy, float *restrict df,
                                         float *restrict part, double *restrict acc) {
  const int C = g->c;
  const size_t taps = (size_t)g->kh * g->kw * C;
  for (size_t i = 0; i < taps; i++) acc[i] = 0;
  for (int n = 0; n < g->n; n++) {
    for (size_t i = 0; i < taps; i++) part[i] = 0.f;
    for (int oy = 0; oy < g->oh; oy++)
      for (int ox = 0; ox < g->ow; ox++) {
        const float *restrict d = dy + (((size_t)n * g->oh + oy) * g->ow + ox) * C;
        for (int a = 0; a < g->kh; a++) {
          const int iy = tap_y(g, oy, a);
          if (iy < 0) continue;
          for (int b = 0; b < g->kw; b++) {
            const int ix = tap_x(g, ox, b);
            if (ix < 0) continue;
            const float *restrict xi = x + (((size_t)n * g->h + iy) * g->w + ix) * C;
            float *restrict p = part + ((size_t)a * g->kw + b) * C;
            for (int c = 0; c < C; c++) p[c] += xi[c] * d[c];
          }
        }
      }
    for (size_t i = 0; i < taps; i++) acc[i] += part[i];
  }
  for (size_t i = 0; i < taps; i++) df[i] = (float)acc[i];
}

/* ---- N-API plumbing ---- */

static napi_value throw_error(napi_env env, const char *msg) {
  napi_throw_error(env, NULL, msg);
  return NULL;
}

/* A Float32Array (or Int32Array for `want_int`) argument; NULL/undefined gives ptr NULL when `optional`. */
static int typed_arg(napi_env env, napi_value v, napi_typedarray_type want, void **ptr, size_t *len, int optional) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (optional && (t == napi_null || t == napi_undefined)) {
    *ptr = NULL;
    *len = 0;
    return 1;
  }
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value buf;
  size_t off;
  if (napi_get_typedarray_info(env, v, &type, len, ptr, &buf, &off) != napi_ok || type != want) return 0;
  return 1;
}

static int int_arg(napi_env env, napi_value v, int32_t *out) { return napi_get_value_int32(env, v, out) == napi_ok; }

static int geom_arg(napi_env env, napi_value v, Geom *g) {
  int32_t *p;
  size_t len;
  if (!typed_arg(env, v, napi_int32_array, (void **)&p, &len, 0) || len != GEOM_INTS) return 0;
  memcpy(g, p, sizeof(Geom));
  return g->n > 0 && g->h > 0 && g->w > 0 && g->c > 0 && g->kh > 0 && g->kw > 0 && g->co > 0 && g->sh > 0 && g->sw > 0 && g->oh > 0 &&
         g->ow > 0;
}

#define F32(i, name, optional)                                                                        \
  float *name;                                                                                        \
  size_t name##_len;                                                                                  \
  if (!typed_arg(env, argv[i], napi_float32_array, (void **)&name, &name##_len, optional))            \
    return throw_error(env, "argument " #i " (" #name ") must be a Float32Array");

static unsigned enter_ftz(void) {
  unsigned saved = _mm_getcsr();
  _mm_setcsr(saved | 0x8040); /* FTZ | DAZ */
  return saved;
}

/*
 * The three convolutions share their operands: the input X [n, h, w, c], the filter W
 * [kh, kw, c, co] and the output Y [n, oh, ow, co]; each computes one from the other two.
 *   forward:       Y = im2col(X) @ W (+ bias, activation)
 *   input grad:    X = col2im(Y @ W^T)
 *   filter grad:   W = im2col(X)^T @ Y, summed over the chunks of images
 */
static const char *const KIND_NAMES[] = {"conv2d", "conv2dBackpropInput", "conv2dBackpropFilter"};

static void run_conv(Kind kind, const Geom *g, float *X, float *W, float *Y, float *col, int step) {
  if (winograd_fits(g)) {
    winograd_conv(kind, g, X, W, Y, col);
    return;
  }
  const size_t k = (size_t)g->kh * g->kw * g->c, per = (size_t)g->oh * g->ow;
  if (is_pointwise(g)) {
    const int rows = g->n * per;
    if (kind == FORWARD) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g->co, k, 1.f, X, k, W, g->co, 0.f, Y, g->co);
    else if (kind == GRAD_INPUT) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, g->co, 1.f, Y, g->co, W, g->co, 0.f, X, k);
    else cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g->co, rows, 1.f, X, k, Y, g->co, 0.f, W, g->co);
    return;
  }
  if (kind == GRAD_INPUT) memset(X, 0, (size_t)g->n * g->h * g->w * g->c * sizeof(float));
  for (int i0 = 0; i0 < g->n; i0 += step) {
    const int i1 = i0 + step < g->n ? i0 + step : g->n, rows = (i1 - i0) * per;
    float *y = Y + i0 * per * g->co;
    if (kind != GRAD_INPUT) im2col(g, X, i0, i1, col);
    if (kind == FORWARD) cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, g->co, k, 1.f, col, k, W, g->co, 0.f, y, g->co);
    else if (kind == GRAD_FILTER)
      cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, g->co, rows, 1.f, col, k, y, g->co, i0 == 0 ? 0.f : 1.f, W, g->co);
    else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, k, g->co, 1.f, y, g->co, W, g->co, 0.f, col, k);
      col2im(g, col, i0, i1, X);
    }
  }
}

/* The depthwise kernels, after conv() has checked their arguments. */
static napi_value run_depthwise(napi_env env, Kind kind, const Geom *g, float *X, float *W, float *Y, const float *bias, int act) {
  const size_t taps = (size_t)g->kh * g->kw * g->c;
  /* The filter gradient's two accumulators: taps floats, then taps doubles (8-byte aligned). */
  float *part = kind == GRAD_FILTER ? scratch_of(taps * 3 + 1) : NULL;
  if (kind == GRAD_FILTER && !part) return throw_error(env, "depthwiseBackpropFilter: out of memory");
  unsigned csr = enter_ftz();
  if (kind == FORWARD) {
    dw_forward(g, X, W, Y);
    bias_act(Y, (size_t)g->n * g->oh * g->ow, g->c, bias, act);
  } else if (kind == GRAD_INPUT) {
    dw_grad_input(g, Y, W, X);
  } else {
    dw_grad_filter(g, X, Y, W, part, (double *)(part + taps + (taps & 1)));
  }
  _mm_setcsr(csr);
  return NULL;
}

/*
 * conv2d(x, filter, out, geom, bias | null, activation)
 * conv2dBackpropInput(dy, filter, dx, geom)
 * conv2dBackpropFilter(x, dy, dw, geom)
 * and the same three for `depthwise` (depthwiseConv2d, depthwiseBackpropInput, depthwiseBackpropFilter),
 * whose geometry is a convolution's with co = c and whose filter is [kh, kw, c]: one filter per channel.
 */
static napi_value conv(napi_env env, napi_callback_info info, Kind kind, int depthwise) {
  static const char *const DEPTHWISE_NAMES[] = {"depthwiseConv2d", "depthwiseBackpropInput", "depthwiseBackpropFilter"};
  const char *name = depthwise ? DEPTHWISE_NAMES[kind] : KIND_NAMES[kind];
  char msg[96];
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < (kind == FORWARD ? 6u : 4u)) {
    snprintf(msg, sizeof msg, "%s: %d arguments expected", name, kind == FORWARD ? 6 : 4);
    return throw_error(env, msg);
  }
  F32(0, a, 0) F32(1, b, 0) F32(2, c, 0);
  float *bias = NULL;
  size_t bias_len = 0;
  int32_t act = ACT_LINEAR;
  if (kind == FORWARD && (!typed_arg(env, argv[4], napi_float32_array, (void **)&bias, &bias_len, 1) || !int_arg(env, argv[5], &act))) {
    snprintf(msg, sizeof msg, "%s: bias must be a Float32Array or null, activation a number", name);
    return throw_error(env, msg);
  }
  Geom g;
  if (!geom_arg(env, argv[3], &g) || (depthwise && g.co != g.c)) {
    snprintf(msg, sizeof msg, "%s: bad geometry", name);
    return throw_error(env, msg);
  }
  /* The operands in X, W, Y order, from each function's argument order. */
  float *X = kind == GRAD_INPUT ? c : a, *W = kind == GRAD_FILTER ? c : b, *Y = kind == FORWARD ? c : kind == GRAD_INPUT ? a : b;
  const size_t lx = kind == GRAD_INPUT ? c_len : a_len, lw = kind == GRAD_FILTER ? c_len : b_len,
               ly = kind == FORWARD ? c_len : kind == GRAD_INPUT ? a_len : b_len;
  const size_t k = (size_t)g.kh * g.kw * g.c, per = (size_t)g.oh * g.ow;
  if (lx != (size_t)g.n * g.h * g.w * g.c || lw != (depthwise ? k : k * g.co) || ly != g.n * per * g.co ||
      (bias && bias_len != (size_t)g.co)) {
    snprintf(msg, sizeof msg, "%s: sizes do not match the geometry", name);
    return throw_error(env, msg);
  }
  if (depthwise) return run_depthwise(env, kind, &g, X, W, Y, bias, act);
  const int step = chunk_images(&g);
  const size_t need = winograd_fits(&g) ? winograd_scratch(&g) : is_pointwise(&g) ? 0 : step * per * k;
  float *col = need ? scratch_of(need) : NULL;
  if (need && !col) {
    snprintf(msg, sizeof msg, "%s: out of memory", name);
    return throw_error(env, msg);
  }
  unsigned csr = enter_ftz();
  run_conv(kind, &g, X, W, Y, col, step);
  if (kind == FORWARD) bias_act(Y, g.n * per, g.co, bias, act);
  _mm_setcsr(csr);
  return NULL;
}

static napi_value conv2d(napi_env env, napi_callback_info info) { return conv(env, info, FORWARD, 0); }
static napi_value conv2d_backprop_input(napi_env env, napi_callback_info info) { return conv(env, info, GRAD_INPUT, 0); }
static napi_value conv2d_backprop_filter(napi_env env, napi_callback_info info) { return conv(env, info, GRAD_FILTER, 0); }

static napi_value depthwise_conv2d(napi_env env, napi_callback_info info) { return conv(env, info, FORWARD, 1); }
static napi_value depthwise_backprop_input(napi_env env, napi_callback_info info) { return conv(env, info, GRAD_INPUT, 1); }
static napi_value depthwise_backprop_filter(napi_env env, napi_callback_info info) { return conv(env, info, GRAD_FILTER, 1); }

/* gemm(a, b, out, dims [m, n, k, transA, transB], bias | null, activation): out[m, n] = act(op(a) @ op(b) + bias) */
static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 6) return throw_error(env, "gemm: 6 arguments expected");
  F32(0, a, 0) F32(1, b, 0) F32(2, out, 0) F32(4, bias, 1);
  int32_t *d;
  size_t dlen;
  int32_t act;
  if (!typed_arg(env, argv[3], napi_int32_array, (void **)&d, &dlen, 0) || dlen != 5 || !int_arg(env, argv[5], &act))
    return throw_error(env, "gemm: bad dimensions");
  const int m = d[0], n = d[1], k = d[2], ta = d[3], tb = d[4];
  if (m <= 0 || n <= 0 || k <= 0 || a_len != (size_t)m * k || b_len != (size_t)k * n || out_len != (size_t)m * n ||
      (bias && bias_len != (size_t)n))
    return throw_error(env, "gemm: sizes do not match the dimensions");
  unsigned csr = enter_ftz();
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k, 1.f, a, ta ? m : k, b, tb ? k : n, 0.f,
              out, n);
  bias_act(out, m, n, bias, act);
  _mm_setcsr(csr);
  return NULL;
}

static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t n;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || !int_arg(env, argv[0], &n) || n < 1) return throw_error(env, "setThreads: a whole number >= 1 expected");
  openblas_set_num_threads(n);
  return NULL;
}

static napi_value core_name(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value s;
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &s);
  return s;
}

/* Writable, so that tests can wrap a function to count its calls. */
#define FN (napi_writable | napi_enumerable | napi_configurable)

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"conv2d", NULL, conv2d, NULL, NULL, NULL, FN, NULL},
      {"conv2dBackpropInput", NULL, conv2d_backprop_input, NULL, NULL, NULL, FN, NULL},
      {"conv2dBackpropFilter", NULL, conv2d_backprop_filter, NULL, NULL, NULL, FN, NULL},
      {"depthwiseConv2d", NULL, depthwise_conv2d, NULL, NULL, NULL, FN, NULL},
      {"depthwiseBackpropInput", NULL, depthwise_backprop_input, NULL, NULL, NULL, FN, NULL},
      {"depthwiseBackpropFilter", NULL, depthwise_backprop_filter, NULL, NULL, NULL, FN, NULL},
      {"gemm", NULL, gemm, NULL, NULL, NULL, FN, NULL},
      {"setThreads", NULL, set_threads, NULL, NULL, NULL, FN, NULL},
      {"coreName", NULL, core_name, NULL, NULL, NULL, FN, NULL},
  };
  napi_define_properties(env, exports, sizeof(props) / sizeof(props[0]), props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
