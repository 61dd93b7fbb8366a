;; SIMD loops over the TF.js wasm backend's own heap, loaded by ../wasm-simd.ts.
;;
;; Compiled to kernels.wasm (committed) by `npm run build:wasm`; tests/wasm-simd.test.ts
;; fails when the two differ. Needs the WebAssembly SIMD feature (128-bit, not relaxed).
;;
;; Pointers are byte addresses in the imported memory, n counts elements. Float tensors
;; are float32, bool tensors one byte (0/1) per element, accumulators float64. Vector
;; loads/stores say align=1: TF.js gives no alignment beyond 4 (and none for byte
;; offsets such as out + i); the hint changes nothing on V8 but keeps the text honest.
;; Every function handles any n: a vector loop while a whole 16 (or 4) elements are
;; left, then a scalar loop for the rest.
;;
;; Loops are written `block $done / loop $next / br_if $done (not cond) ... br $next`,
;; i.e. `while (cond) { ... }`.
(module
  ;; The backend's WebAssembly.Memory as `env.memory`: unshared, at least 0 pages, no maximum.
  (import "env" "memory" (memory 0))

  ;; --- comparisons: float32 -> bool bytes --------------------------------------
  ;; A 4-lane f32 comparison gives -1/0 per lane; two signed narrowings turn four of
  ;; them (16 floats) into 16 bytes of -1/0, and `& 1` makes them 0/1.

  ;; out[i] = x[i] >= s
  (func $cmp_ge_s (export "cmp_ge_s") (param $x i32) (param $s f32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $sv v128) (local $one v128)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.ge (v128.load align=1 (local.get $a)) (local.get $sv))
              (f32x4.ge (v128.load offset=16 align=1 (local.get $a)) (local.get $sv)))
            (i16x8.narrow_i32x4_s
              (f32x4.ge (v128.load offset=32 align=1 (local.get $a)) (local.get $sv))
              (f32x4.ge (v128.load offset=48 align=1 (local.get $a)) (local.get $sv))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.ge (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))) (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = a[i] >= b[i]
  (func $cmp_ge_v (export "cmp_ge_v") (param $x i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $b i32) (local $one v128)
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $b (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.ge (v128.load align=1 (local.get $a)) (v128.load align=1 (local.get $b)))
              (f32x4.ge (v128.load offset=16 align=1 (local.get $a)) (v128.load offset=16 align=1 (local.get $b))))
            (i16x8.narrow_i32x4_s
              (f32x4.ge (v128.load offset=32 align=1 (local.get $a)) (v128.load offset=32 align=1 (local.get $b)))
              (f32x4.ge (v128.load offset=48 align=1 (local.get $a)) (v128.load offset=48 align=1 (local.get $b)))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.ge (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
                (f32.load (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = x[i] <= s  (as cmp_ge_s)
  (func $cmp_le_s (export "cmp_le_s") (param $x i32) (param $s f32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $sv v128) (local $one v128)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.le (v128.load align=1 (local.get $a)) (local.get $sv))
              (f32x4.le (v128.load offset=16 align=1 (local.get $a)) (local.get $sv)))
            (i16x8.narrow_i32x4_s
              (f32x4.le (v128.load offset=32 align=1 (local.get $a)) (local.get $sv))
              (f32x4.le (v128.load offset=48 align=1 (local.get $a)) (local.get $sv))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.le (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))) (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = a[i] <= b[i]  (as cmp_ge_v)
  (func $cmp_le_v (export "cmp_le_v") (param $x i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $b i32) (local $one v128)
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $b (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.le (v128.load align=1 (local.get $a)) (v128.load align=1 (local.get $b)))
              (f32x4.le (v128.load offset=16 align=1 (local.get $a)) (v128.load offset=16 align=1 (local.get $b))))
            (i16x8.narrow_i32x4_s
              (f32x4.le (v128.load offset=32 align=1 (local.get $a)) (v128.load offset=32 align=1 (local.get $b)))
              (f32x4.le (v128.load offset=48 align=1 (local.get $a)) (v128.load offset=48 align=1 (local.get $b)))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.le (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
                (f32.load (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = x[i] > s  (as cmp_ge_s)
  (func $cmp_gt_s (export "cmp_gt_s") (param $x i32) (param $s f32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $sv v128) (local $one v128)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.gt (v128.load align=1 (local.get $a)) (local.get $sv))
              (f32x4.gt (v128.load offset=16 align=1 (local.get $a)) (local.get $sv)))
            (i16x8.narrow_i32x4_s
              (f32x4.gt (v128.load offset=32 align=1 (local.get $a)) (local.get $sv))
              (f32x4.gt (v128.load offset=48 align=1 (local.get $a)) (local.get $sv))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.gt (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))) (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = a[i] > b[i]  (as cmp_ge_v)
  (func $cmp_gt_v (export "cmp_gt_v") (param $x i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $b i32) (local $one v128)
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $b (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.gt (v128.load align=1 (local.get $a)) (v128.load align=1 (local.get $b)))
              (f32x4.gt (v128.load offset=16 align=1 (local.get $a)) (v128.load offset=16 align=1 (local.get $b))))
            (i16x8.narrow_i32x4_s
              (f32x4.gt (v128.load offset=32 align=1 (local.get $a)) (v128.load offset=32 align=1 (local.get $b)))
              (f32x4.gt (v128.load offset=48 align=1 (local.get $a)) (v128.load offset=48 align=1 (local.get $b)))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.gt (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
                (f32.load (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = x[i] < s  (as cmp_ge_s)
  (func $cmp_lt_s (export "cmp_lt_s") (param $x i32) (param $s f32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $sv v128) (local $one v128)
    (local.set $sv (f32x4.splat (local.get $s)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.lt (v128.load align=1 (local.get $a)) (local.get $sv))
              (f32x4.lt (v128.load offset=16 align=1 (local.get $a)) (local.get $sv)))
            (i16x8.narrow_i32x4_s
              (f32x4.lt (v128.load offset=32 align=1 (local.get $a)) (local.get $sv))
              (f32x4.lt (v128.load offset=48 align=1 (local.get $a)) (local.get $sv))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.lt (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))) (local.get $s)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = a[i] < b[i]  (as cmp_ge_v)
  (func $cmp_lt_v (export "cmp_lt_v") (param $x i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $a i32) (local $b i32) (local $one v128)
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $a (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
      (local.set $b (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (i8x16.narrow_i16x8_s
            (i16x8.narrow_i32x4_s
              (f32x4.lt (v128.load align=1 (local.get $a)) (v128.load align=1 (local.get $b)))
              (f32x4.lt (v128.load offset=16 align=1 (local.get $a)) (v128.load offset=16 align=1 (local.get $b))))
            (i16x8.narrow_i32x4_s
              (f32x4.lt (v128.load offset=32 align=1 (local.get $a)) (v128.load offset=32 align=1 (local.get $b)))
              (f32x4.lt (v128.load offset=48 align=1 (local.get $a)) (v128.load offset=48 align=1 (local.get $b)))))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (f32.lt (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2))))
                (f32.load (i32.add (local.get $y) (i32.shl (local.get $i) (i32.const 2))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; --- bool logic and select -------------------------------------------------------

  ;; out[i] = a[i] != 0 && b[i] != 0  (bool bytes; any non-zero byte counts as true)
  (func $and_v (export "and_v") (param $a i32) (param $b i32) (param $out i32) (param $n i32)
    (local $i i32) (local $zero v128) (local $one v128)
    (local.set $zero (i8x16.splat (i32.const 0)))
    (local.set $one (i8x16.splat (i32.const 1)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $i))
        (v128.and
          (v128.and
            (i8x16.ne (v128.load align=1 (i32.add (local.get $a) (local.get $i))) (local.get $zero))
            (i8x16.ne (v128.load align=1 (i32.add (local.get $b) (local.get $i))) (local.get $zero)))
          (local.get $one)))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (i32.store8 (i32.add (local.get $out) (local.get $i))
        (i32.and
          (i32.ne (i32.load8_u (i32.add (local.get $a) (local.get $i))) (i32.const 0))
          (i32.ne (i32.load8_u (i32.add (local.get $b) (local.get $i))) (i32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = c[i] ? t[i] : e[i]  (c bool bytes; t, e, out float32)
  ;; 16 elements a step: the 16 condition bytes become a -1/0 byte mask, widened
  ;; (sign-extended) to four i32x4 masks that pick whole floats with bitselect.
  (func $select_v (export "select_v") (param $c i32) (param $t i32) (param $e i32) (param $out i32) (param $n i32)
    (local $i i32) (local $m v128) (local $lo v128) (local $hi v128) (local $zero v128) (local $off i32)
    (local.set $zero (i8x16.splat (i32.const 0)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 16)) (local.get $n))))
      (local.set $m (i8x16.ne (v128.load align=1 (i32.add (local.get $c) (local.get $i))) (local.get $zero)))
      (local.set $lo (i16x8.extend_low_i8x16_s (local.get $m)))
      (local.set $hi (i16x8.extend_high_i8x16_s (local.get $m)))
      (local.set $off (i32.shl (local.get $i) (i32.const 2)))  ;; byte offset of float i
      (v128.store align=1 (i32.add (local.get $out) (local.get $off))
        (v128.bitselect
          (v128.load align=1 (i32.add (local.get $t) (local.get $off)))
          (v128.load align=1 (i32.add (local.get $e) (local.get $off)))
          (i32x4.extend_low_i16x8_s (local.get $lo))))
      (v128.store offset=16 align=1 (i32.add (local.get $out) (local.get $off))
        (v128.bitselect
          (v128.load offset=16 align=1 (i32.add (local.get $t) (local.get $off)))
          (v128.load offset=16 align=1 (i32.add (local.get $e) (local.get $off)))
          (i32x4.extend_high_i16x8_s (local.get $lo))))
      (v128.store offset=32 align=1 (i32.add (local.get $out) (local.get $off))
        (v128.bitselect
          (v128.load offset=32 align=1 (i32.add (local.get $t) (local.get $off)))
          (v128.load offset=32 align=1 (i32.add (local.get $e) (local.get $off)))
          (i32x4.extend_low_i16x8_s (local.get $hi))))
      (v128.store offset=48 align=1 (i32.add (local.get $out) (local.get $off))
        (v128.bitselect
          (v128.load offset=48 align=1 (i32.add (local.get $t) (local.get $off)))
          (v128.load offset=48 align=1 (i32.add (local.get $e) (local.get $off)))
          (i32x4.extend_high_i16x8_s (local.get $hi))))
      (local.set $i (i32.add (local.get $i) (i32.const 16)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
        (select
          (f32.load (i32.add (local.get $t) (i32.shl (local.get $i) (i32.const 2))))
          (f32.load (i32.add (local.get $e) (i32.shl (local.get $i) (i32.const 2))))
          (i32.load8_u (i32.add (local.get $c) (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; out[i] = lo <= x[i] <= hi ? dy[i] : 0  (x, dy, out float32): the gradient of clipByValue,
  ;; relu6 (lo the least positive float, hi 6) and relu (hi +inf) in one pass. A NaN x passes nothing.
  (func $range_grad (export "range_grad") (param $x i32) (param $dy i32) (param $out i32) (param $n i32) (param $lo f32) (param $hi f32)
    (local $i i32) (local $off i32) (local $v v128) (local $lv v128) (local $hv v128) (local $xs f32)
    (local.set $lv (f32x4.splat (local.get $lo)))
    (local.set $hv (f32x4.splat (local.get $hi)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $n))))
      (local.set $off (i32.shl (local.get $i) (i32.const 2)))
      (local.set $v (v128.load align=1 (i32.add (local.get $x) (local.get $off))))
      (v128.store align=1 (i32.add (local.get $out) (local.get $off))
        (v128.and
          (v128.load align=1 (i32.add (local.get $dy) (local.get $off)))
          (v128.and (f32x4.ge (local.get $v) (local.get $lv)) (f32x4.le (local.get $v) (local.get $hv)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (local.set $off (i32.shl (local.get $i) (i32.const 2)))
      (local.set $xs (f32.load (i32.add (local.get $x) (local.get $off))))
      (f32.store (i32.add (local.get $out) (local.get $off))
        (select
          (f32.load (i32.add (local.get $dy) (local.get $off)))
          (f32.const 0)
          (i32.and (f32.ge (local.get $xs) (local.get $lo)) (f32.le (local.get $xs) (local.get $hi)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; --- float64 accumulations ---------------------------------------------------------
  ;; Four float32 lanes v are added to four float64 accumulators at q as two f64x2:
  ;; lanes 0,1 promoted directly, lanes 2,3 after a shuffle moves them to 0,1.

  ;; acc[c] += x[r, c] for r < rows, c < cols  (x float32 row-major, acc float64)
  (func $colsum (export "colsum") (param $x i32) (param $rows i32) (param $cols i32) (param $acc i32)
    (local $r i32) (local $c i32) (local $p i32) (local $q i32) (local $v v128)
    (local.set $p (local.get $x))  ;; start of row r
    (block $rows_done (loop $next_row
      (br_if $rows_done (i32.eqz (i32.lt_u (local.get $r) (local.get $rows))))
      (local.set $c (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $cols))))
        (local.set $v (v128.load align=1 (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 2)))))
        (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (v128.store align=1 (local.get $q)
          (f64x2.add (v128.load align=1 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $v))))
        (v128.store offset=16 align=1 (local.get $q)
          (f64x2.add
            (v128.load offset=16 align=1 (local.get $q))
            (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $next)))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.lt_u (local.get $c) (local.get $cols))))
        (f64.store (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3)))
          (f64.add
            (f64.load (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
            (f64.promote_f32 (f32.load (i32.add (local.get $p) (i32.shl (local.get $c) (i32.const 2)))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next)))
      (local.set $p (i32.add (local.get $p) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next_row))))

  ;; The batch-norm gradient's two per-channel sums in one pass over x and dy ([rows, cols] float32,
  ;; mean [cols]): acc[c] += dy[r, c] and acc[cols + c] += dy[r, c] * (x[r, c] - mean[c]) for r < rows
  ;; (acc float64, 2*cols; the difference and product are rounded to float32, as the ops would).
  (func $bn_grad_sums (export "bn_grad_sums")
    (param $x i32) (param $dy i32) (param $mean i32) (param $rows i32) (param $cols i32) (param $acc i32)
    (local $r i32) (local $c i32) (local $off i32) (local $q i32) (local $q2 i32) (local $g v128) (local $p v128)
    (local $f f32) (local $accB i32)
    (local.set $accB (i32.add (local.get $acc) (i32.shl (local.get $cols) (i32.const 3))))  ;; the second sums
    (block $rows_done (loop $next_row
      (br_if $rows_done (i32.eqz (i32.lt_u (local.get $r) (local.get $rows))))
      (local.set $c (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $c) (i32.const 4)) (local.get $cols))))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (local.set $g (v128.load align=1 (i32.add (local.get $dy) (local.get $off))))
        (local.set $p (f32x4.mul (local.get $g)
          (f32x4.sub (v128.load align=1 (i32.add (local.get $x) (local.get $off)))
                     (v128.load align=1 (i32.add (local.get $mean) (local.get $off))))))
        (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $q2 (i32.add (local.get $accB) (i32.shl (local.get $c) (i32.const 3))))
        (v128.store align=1 (local.get $q)
          (f64x2.add (v128.load align=1 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $g))))
        (v128.store offset=16 align=1 (local.get $q)
          (f64x2.add (v128.load offset=16 align=1 (local.get $q))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $g) (local.get $g)))))
        (v128.store align=1 (local.get $q2)
          (f64x2.add (v128.load align=1 (local.get $q2)) (f64x2.promote_low_f32x4 (local.get $p))))
        (v128.store offset=16 align=1 (local.get $q2)
          (f64x2.add (v128.load offset=16 align=1 (local.get $q2))
            (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $p) (local.get $p)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $next)))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.lt_u (local.get $c) (local.get $cols))))
        (local.set $off (i32.shl (local.get $c) (i32.const 2)))
        (local.set $f (f32.load (i32.add (local.get $dy) (local.get $off))))
        (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $c) (i32.const 3))))
        (local.set $q2 (i32.add (local.get $accB) (i32.shl (local.get $c) (i32.const 3))))
        (f64.store (local.get $q) (f64.add (f64.load (local.get $q)) (f64.promote_f32 (local.get $f))))
        (f64.store (local.get $q2)
          (f64.add (f64.load (local.get $q2))
            (f64.promote_f32 (f32.mul (local.get $f)
              (f32.sub (f32.load (i32.add (local.get $x) (local.get $off))) (f32.load (i32.add (local.get $mean) (local.get $off))))))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $next)))
      (local.set $x (i32.add (local.get $x) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $dy (i32.add (local.get $dy) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $next_row))))

  ;; acc[k] += x[k] * dy[k] for k < c  (x, dy float32; the product is rounded to
  ;; float32 before it is added to the float64 acc). A helper of dw_row.
  (func $fma_acc (export "fma_acc") (param $x i32) (param $dy i32) (param $acc i32) (param $c i32)
    (local $k i32) (local $v v128) (local $q i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $k) (i32.const 4)) (local.get $c))))
      (local.set $v
        (f32x4.mul
          (v128.load align=1 (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2))))
          (v128.load align=1 (i32.add (local.get $dy) (i32.shl (local.get $k) (i32.const 2))))))
      (local.set $q (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 3))))
      (v128.store align=1 (local.get $q)
        (f64x2.add (v128.load align=1 (local.get $q)) (f64x2.promote_low_f32x4 (local.get $v))))
      (v128.store offset=16 align=1 (local.get $q)
        (f64x2.add
          (v128.load offset=16 align=1 (local.get $q))
          (f64x2.promote_low_f32x4
            (i8x16.shuffle 8 9 10 11 12 13 14 15 8 9 10 11 12 13 14 15 (local.get $v) (local.get $v)))))
      (local.set $k (i32.add (local.get $k) (i32.const 4)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $k) (local.get $c))))
      (f64.store (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 3)))
        (f64.add
          (f64.load (i32.add (local.get $acc) (i32.shl (local.get $k) (i32.const 3))))
          (f64.promote_f32
            (f32.mul
              (f32.load (i32.add (local.get $x) (i32.shl (local.get $k) (i32.const 2))))
              (f32.load (i32.add (local.get $dy) (i32.shl (local.get $k) (i32.const 2))))))))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next))))

  ;; One output row of the depthwise filter gradient for one kernel row: for each
  ;; output column j < ow and tap q < kw whose input column col = j*sw + q - left
  ;; lies in [0, w): acc[q, :] += xRow[col, :] * dyRow[j, :]  (c channels, acc float64).
  (func $dw_row (export "dw_row")
    (param $xRow i32) (param $dyRow i32) (param $acc i32) (param $ow i32) (param $kw i32)
    (param $sw i32) (param $left i32) (param $w i32) (param $c i32)
    (local $j i32) (local $q i32) (local $col i32)
    (block $cols_done (loop $next_col
      (br_if $cols_done (i32.eqz (i32.lt_u (local.get $j) (local.get $ow))))
      (local.set $q (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.lt_u (local.get $q) (local.get $kw))))
        (local.set $col
          (i32.sub (i32.add (i32.mul (local.get $j) (local.get $sw)) (local.get $q)) (local.get $left)))
        ;; 0 <= col < w in one unsigned comparison (a negative col wraps to a huge one).
        (if (i32.lt_u (local.get $col) (local.get $w))
          (then
            (call $fma_acc
              (i32.add (local.get $xRow) (i32.shl (i32.mul (local.get $col) (local.get $c)) (i32.const 2)))
              (i32.add (local.get $dyRow) (i32.shl (i32.mul (local.get $j) (local.get $c)) (i32.const 2)))
              (i32.add (local.get $acc) (i32.shl (i32.mul (local.get $q) (local.get $c)) (i32.const 3)))
              (local.get $c))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $next)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_col))))

  ;; --- max-pool gradient ----------------------------------------------------------

  ;; One output row of the 2x2 stride-2 max-pool gradient, full windows only: for
  ;; j < ow and channel k < c, the window x0[2j, k], x0[2j+1, k], x1[2j, k],
  ;; x1[2j+1, k] (x0, x1: two input rows of c channels per column) sends dy[j, k]
  ;; to its first strict maximum in that order, as TF.js's cpu backend
  ;; (maxPoolPositions: `pixel > max` from -Infinity; NaN never wins), and writes
  ;; +0 to the other three dx0/dx1 cells. A vector loop over 4 channels (the mask
  ;; of each winner ANDed with dy), then a scalar loop for c % 4.
  (func $pool2x2_row (export "pool2x2_row")
    (param $x0 i32) (param $x1 i32) (param $dy i32) (param $dx0 i32) (param $dx1 i32) (param $ow i32) (param $c i32)
    (local $j i32) (local $k i32) (local $a i32) (local $b i32) (local $o i32) (local $ob i32) (local $step i32)
    (local $m v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128) (local $g v128)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128)
    (local $fm f32) (local $f0 f32) (local $f1 f32) (local $f2 f32) (local $f3 f32) (local $win i32) (local $fg f32)
    (local.set $step (i32.shl (local.get $c) (i32.const 2)))  ;; bytes per input column
    (block $cols_done (loop $next_col
      (br_if $cols_done (i32.eqz (i32.lt_u (local.get $j) (local.get $ow))))
      ;; a: byte offset of column 2j within an input row; b: of column j within a dy row.
      (local.set $a (i32.mul (i32.shl (local.get $j) (i32.const 1)) (local.get $step)))
      (local.set $b (i32.mul (local.get $j) (local.get $step)))
      (local.set $k (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $k) (i32.const 4)) (local.get $c))))
        (local.set $o (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $ob (i32.add (local.get $o) (local.get $step)))
        (local.set $v0 (v128.load align=1 (i32.add (local.get $x0) (local.get $o))))
        (local.set $v1 (v128.load align=1 (i32.add (local.get $x0) (local.get $ob))))
        (local.set $v2 (v128.load align=1 (i32.add (local.get $x1) (local.get $o))))
        (local.set $v3 (v128.load align=1 (i32.add (local.get $x1) (local.get $ob))))
        (local.set $g (v128.load align=1 (i32.add (local.get $dy) (i32.add (local.get $b) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $m (f32x4.splat (f32.const -inf)))
        (local.set $s0 (f32x4.gt (local.get $v0) (local.get $m)))
        (local.set $m (v128.bitselect (local.get $v0) (local.get $m) (local.get $s0)))
        (local.set $s1 (f32x4.gt (local.get $v1) (local.get $m)))
        (local.set $m (v128.bitselect (local.get $v1) (local.get $m) (local.get $s1)))
        (local.set $s2 (f32x4.gt (local.get $v2) (local.get $m)))
        (local.set $m (v128.bitselect (local.get $v2) (local.get $m) (local.get $s2)))
        (local.set $s3 (f32x4.gt (local.get $v3) (local.get $m)))
        ;; The last tap that raised the maximum wins: clear earlier masks under later ones.
        (local.set $s2 (v128.andnot (local.get $s2) (local.get $s3)))
        (local.set $s1 (v128.andnot (v128.andnot (local.get $s1) (local.get $s3)) (local.get $s2)))
        (local.set $s0 (v128.andnot (v128.andnot (v128.andnot (local.get $s0) (local.get $s3)) (local.get $s2)) (local.get $s1)))
        (v128.store align=1 (i32.add (local.get $dx0) (local.get $o)) (v128.and (local.get $g) (local.get $s0)))
        (v128.store align=1 (i32.add (local.get $dx0) (local.get $ob)) (v128.and (local.get $g) (local.get $s1)))
        (v128.store align=1 (i32.add (local.get $dx1) (local.get $o)) (v128.and (local.get $g) (local.get $s2)))
        (v128.store align=1 (i32.add (local.get $dx1) (local.get $ob)) (v128.and (local.get $g) (local.get $s3)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $next)))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.lt_u (local.get $k) (local.get $c))))
        (local.set $o (i32.add (local.get $a) (i32.shl (local.get $k) (i32.const 2))))
        (local.set $ob (i32.add (local.get $o) (local.get $step)))
        (local.set $f0 (f32.load (i32.add (local.get $x0) (local.get $o))))
        (local.set $f1 (f32.load (i32.add (local.get $x0) (local.get $ob))))
        (local.set $f2 (f32.load (i32.add (local.get $x1) (local.get $o))))
        (local.set $f3 (f32.load (i32.add (local.get $x1) (local.get $ob))))
        (local.set $fg (f32.load (i32.add (local.get $dy) (i32.add (local.get $b) (i32.shl (local.get $k) (i32.const 2))))))
        (local.set $fm (f32.const -inf))
        (local.set $win (i32.const -1))
        (if (f32.gt (local.get $f0) (local.get $fm)) (then (local.set $fm (local.get $f0)) (local.set $win (i32.const 0))))
        (if (f32.gt (local.get $f1) (local.get $fm)) (then (local.set $fm (local.get $f1)) (local.set $win (i32.const 1))))
        (if (f32.gt (local.get $f2) (local.get $fm)) (then (local.set $fm (local.get $f2)) (local.set $win (i32.const 2))))
        (if (f32.gt (local.get $f3) (local.get $fm)) (then (local.set $win (i32.const 3))))
        (f32.store (i32.add (local.get $dx0) (local.get $o)) (select (local.get $fg) (f32.const 0) (i32.eq (local.get $win) (i32.const 0))))
        (f32.store (i32.add (local.get $dx0) (local.get $ob)) (select (local.get $fg) (f32.const 0) (i32.eq (local.get $win) (i32.const 1))))
        (f32.store (i32.add (local.get $dx1) (local.get $o)) (select (local.get $fg) (f32.const 0) (i32.eq (local.get $win) (i32.const 2))))
        (f32.store (i32.add (local.get $dx1) (local.get $ob)) (select (local.get $fg) (f32.const 0) (i32.eq (local.get $win) (i32.const 3))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br $next_col))))

  ;; --- copies ----------------------------------------------------------------------

  ;; xT[k*positions + p] = x[p*c + k] for p < positions, k < c  (float32: [positions, c] ->
  ;; [c, positions], the channel-major copy patch_t reads). 4 positions x 4 channels a step,
  ;; transposed in registers by two rounds of shuffles; scalar loops for c % 4 and positions % 4.
  (func $transpose (export "transpose") (param $x i32) (param $xT i32) (param $positions i32) (param $c i32)
    (local $p i32) (local $k i32) (local $src i32) (local $dst i32) (local $row i32) (local $col i32)
    (local $r0 v128) (local $r1 v128) (local $r2 v128) (local $r3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $row (i32.shl (local.get $c) (i32.const 2)))          ;; bytes per position in x
    (local.set $col (i32.shl (local.get $positions) (i32.const 2)))  ;; bytes per channel in xT
    (block $blocks_done (loop $next_block
      (br_if $blocks_done (i32.eqz (i32.le_u (i32.add (local.get $p) (i32.const 4)) (local.get $positions))))
      (local.set $k (i32.const 0))
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $k) (i32.const 4)) (local.get $c))))
        (local.set $src (i32.add (local.get $x)
          (i32.shl (i32.add (i32.mul (local.get $p) (local.get $c)) (local.get $k)) (i32.const 2))))
        (local.set $r0 (v128.load align=1 (local.get $src)))
        (local.set $r1 (v128.load align=1 (i32.add (local.get $src) (local.get $row))))
        (local.set $r2 (v128.load align=1 (i32.add (local.get $src) (i32.shl (local.get $row) (i32.const 1)))))
        (local.set $r3 (v128.load align=1 (i32.add (local.get $src) (i32.mul (local.get $row) (i32.const 3)))))
        ;; t0 = r0.0 r1.0 r0.1 r1.1, t1 = r0.2 r1.2 r0.3 r1.3 (t2, t3 likewise of r2, r3)
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r0) (local.get $r1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r0) (local.get $r1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $r2) (local.get $r3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $r2) (local.get $r3)))
        (local.set $dst (i32.add (local.get $xT)
          (i32.shl (i32.add (i32.mul (local.get $k) (local.get $positions)) (local.get $p)) (i32.const 2))))
        (v128.store align=1 (local.get $dst)
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store align=1 (i32.add (local.get $dst) (local.get $col))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store align=1 (i32.add (local.get $dst) (i32.shl (local.get $col) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store align=1 (i32.add (local.get $dst) (i32.mul (local.get $col) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $k (i32.add (local.get $k) (i32.const 4)))
        (br $next)))
      ;; channels c % 4 of these 4 positions
      (block $done (loop $next
        (br_if $done (i32.eqz (i32.lt_u (local.get $k) (local.get $c))))
        (call $transpose_tail (local.get $x) (local.get $xT) (local.get $positions) (local.get $c)
          (local.get $p) (i32.add (local.get $p) (i32.const 4)) (local.get $k))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
      (local.set $p (i32.add (local.get $p) (i32.const 4)))
      (br $next_block)))
    ;; positions % 4, every channel
    (local.set $k (i32.const 0))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $k) (local.get $c))))
      (call $transpose_tail (local.get $x) (local.get $xT) (local.get $positions) (local.get $c)
        (local.get $p) (local.get $positions) (local.get $k))
      (local.set $k (i32.add (local.get $k) (i32.const 1)))
      (br $next))))

  ;; xT[k*positions + p] = x[p*c + k] for p0 <= p < p1, one channel k: transpose's leftovers.
  (func $transpose_tail (param $x i32) (param $xT i32) (param $positions i32) (param $c i32)
    (param $p0 i32) (param $p1 i32) (param $k i32)
    (local $p i32)
    (local.set $p (local.get $p0))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $p) (local.get $p1))))
      (f32.store
        (i32.add (local.get $xT) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $positions)) (local.get $p)) (i32.const 2)))
        (f32.load (i32.add (local.get $x) (i32.shl (i32.add (i32.mul (local.get $p) (local.get $c)) (local.get $k)) (i32.const 2)))))
      (local.set $p (i32.add (local.get $p) (i32.const 1)))
      (br $next))))

  ;; The transposed patch matrix of a stride-1 conv from the channel-major input xT [c, n, h, w]:
  ;; col[(a*kw + q)*c + k, (b*oh + i)*ow + j] = xT[k, b, i + a - top, j + q - left], 0 where that
  ;; tap falls outside the input; col is [kh*kw*c, n*oh*ow], written once, front to back. Each
  ;; (row, b, i) is one run of ow outputs: zeros left of j0, a copy from xT up to j1, zeros after.
  (func $patch_t (export "patch_t")
    (param $xT i32) (param $col i32) (param $n i32) (param $h i32) (param $w i32) (param $c i32)
    (param $kh i32) (param $kw i32) (param $oh i32) (param $ow i32) (param $top i32) (param $left i32)
    (local $a i32) (local $q i32) (local $k i32) (local $b i32) (local $i i32) (local $r i32)
    (local $j0 i32) (local $j1 i32) (local $dst i32) (local $chan i32) (local $src i32)
    (local.set $dst (local.get $col))
    (block $a_done (loop $next_a
      (br_if $a_done (i32.eqz (i32.lt_u (local.get $a) (local.get $kh))))
      (local.set $q (i32.const 0))
      (block $q_done (loop $next_q
        (br_if $q_done (i32.eqz (i32.lt_u (local.get $q) (local.get $kw))))
        ;; j0 = clamp(left - q, 0, ow), j1 = clamp(w + left - q, j0, ow): the columns inside the input
        (local.set $j0 (call $clamp (i32.sub (local.get $left) (local.get $q)) (i32.const 0) (local.get $ow)))
        (local.set $j1 (call $clamp (i32.sub (i32.add (local.get $w) (local.get $left)) (local.get $q)) (local.get $j0) (local.get $ow)))
        (local.set $k (i32.const 0))
        (block $k_done (loop $next_k
          (br_if $k_done (i32.eqz (i32.lt_u (local.get $k) (local.get $c))))
          (local.set $b (i32.const 0))
          (block $b_done (loop $next_b
            (br_if $b_done (i32.eqz (i32.lt_u (local.get $b) (local.get $n))))
            ;; byte address of xT[k, b, 0, q - left]
            (local.set $chan (i32.add (local.get $xT) (i32.shl
              (i32.sub (i32.add (i32.mul (i32.add (i32.mul (local.get $k) (local.get $n)) (local.get $b))
                                         (i32.mul (local.get $h) (local.get $w)))
                                (local.get $q))
                       (local.get $left))
              (i32.const 2))))
            (local.set $i (i32.const 0))
            (block $i_done (loop $next_i
              (br_if $i_done (i32.eqz (i32.lt_u (local.get $i) (local.get $oh))))
              (local.set $r (i32.sub (i32.add (local.get $i) (local.get $a)) (local.get $top)))
              (if (i32.lt_u (local.get $r) (local.get $h))  ;; 0 <= r < h (a negative r wraps)
                (then
                  (local.set $src (i32.add (local.get $chan) (i32.shl (i32.mul (local.get $r) (local.get $w)) (i32.const 2))))
                  (call $zeros (local.get $dst) (local.get $j0))
                  (call $copy
                    (i32.add (local.get $dst) (i32.shl (local.get $j0) (i32.const 2)))
                    (i32.add (local.get $src) (i32.shl (local.get $j0) (i32.const 2)))
                    (i32.sub (local.get $j1) (local.get $j0)))
                  (call $zeros (i32.add (local.get $dst) (i32.shl (local.get $j1) (i32.const 2))) (i32.sub (local.get $ow) (local.get $j1))))
                (else (call $zeros (local.get $dst) (local.get $ow))))
              (local.set $dst (i32.add (local.get $dst) (i32.shl (local.get $ow) (i32.const 2))))
              (local.set $i (i32.add (local.get $i) (i32.const 1)))
              (br $next_i)))
            (local.set $b (i32.add (local.get $b) (i32.const 1)))
            (br $next_b)))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br $next_k)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $next_q)))
      (local.set $a (i32.add (local.get $a) (i32.const 1)))
      (br $next_a))))

  ;; min(max(v, lo), hi) (signed)
  (func $clamp (param $v i32) (param $lo i32) (param $hi i32) (result i32)
    (select (local.get $hi)
      (select (local.get $lo) (local.get $v) (i32.lt_s (local.get $v) (local.get $lo)))
      (i32.gt_s (select (local.get $lo) (local.get $v) (i32.lt_s (local.get $v) (local.get $lo))) (local.get $hi))))

  ;; dst[i] = src[i] for i < n (float32, not overlapping): 4 at a time, then one by one.
  (func $copy (param $dst i32) (param $src i32) (param $n i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.le_u (i32.add (local.get $i) (i32.const 4)) (local.get $n))))
      (v128.store align=1 (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (v128.load align=1 (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $next)))
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2)))
        (f32.load (i32.add (local.get $src) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))

  ;; dst[i] = 0 for i < n (float32; n is a few padding columns, or one row of ow)
  (func $zeros (param $dst i32) (param $n i32)
    (local $i i32)
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (f32.store (i32.add (local.get $dst) (i32.shl (local.get $i) (i32.const 2))) (f32.const 0))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))


  ;; out[i*r + k] = x[i] for i < n, k < r  (float32; grey -> RGB in preprocessing)
  (func $repeat (export "repeat") (param $x i32) (param $out i32) (param $n i32) (param $r i32)
    (local $i i32) (local $k i32) (local $v f32) (local $o i32)
    (local.set $o (local.get $out))  ;; next output address
    (block $done (loop $next
      (br_if $done (i32.eqz (i32.lt_u (local.get $i) (local.get $n))))
      (local.set $v (f32.load (i32.add (local.get $x) (i32.shl (local.get $i) (i32.const 2)))))
      (local.set $k (i32.const 0))
      (block $copied (loop $copy
        (br_if $copied (i32.eqz (i32.lt_u (local.get $k) (local.get $r))))
        (f32.store (local.get $o) (local.get $v))
        (local.set $o (i32.add (local.get $o) (i32.const 4)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $copy)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next))))
)
