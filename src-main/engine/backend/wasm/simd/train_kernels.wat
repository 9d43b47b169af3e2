;; Training kernels in WebAssembly SIMD that run on the tfjs wasm backend's own memory (imported), for
;; the element loops that XNNPACK has no operator for. Compiled by scripts/build-wasm-kernels.mts into
;; train_kernels.wasm.ts (twice: with a shared memory for the threaded build, a plain one otherwise);
;; tests/engine/backend/wasm-simd-kernels.test.ts checks the committed binary against this source.
;; Pointers are byte offsets into that memory; sizes are element counts.
(module
  (import "env" "memory" (memory 1 65536 shared))

  ;; MaxPoolGrad for 2×2 windows at stride 2 without padding (LeNet5's pools), NHWC, float32:
  ;; each window's gradient goes to its first maximum in row-major order, exactly as the cpu
  ;; backend's loop (running maximum from −∞, strict >, so NaN and −∞ windows route nowhere):
  ;; dx = 0 + dy there, +0 elsewhere in the window. Writes every element of each window (the
  ;; windows are disjoint); rows/columns that no window covers are left to the caller.
  ;; Channels in vectors of 4; for c ≥ 4 the last vector overlaps the previous one (it recomputes
  ;; and rewrites the same values); for c < 4 a scalar loop.
  (func (export "maxPoolGrad2x2")
    (param $dx i32) (param $x i32) (param $dy i32)
    (param $n i32) (param $h i32) (param $w i32) (param $c i32) (param $oh i32) (param $ow i32)
    (local $b i32) (local $r i32) (local $q i32) (local $k i32) (local $kLast i32)
    (local $right i32) (local $down i32) (local $p i32) (local $o i32) (local $rowBase i32) (local $outBase i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $best v128)
    (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128) (local $g v128) (local $zero v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $sb f32) (local $at i32)
    (local.set $right (i32.shl (local.get $c) (i32.const 2)))
    (local.set $down (i32.shl (i32.mul (local.get $w) (local.get $c)) (i32.const 2)))
    (local.set $kLast (i32.sub (local.get $c) (i32.const 4)))
    (local.set $zero (f32x4.splat (f32.const 0)))
    (local.set $outBase (local.get $dy))
    (local.set $b (i32.const 0))
    (block $doneB (loop $loopB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $r (i32.const 0))
      (block $doneR (loop $loopR
        (br_if $doneR (i32.ge_u (local.get $r) (local.get $oh)))
        ;; byte offset of input row (b, 2r)
        (local.set $rowBase (i32.shl
          (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.shl (local.get $r) (i32.const 1))) (local.get $w)) (local.get $c))
          (i32.const 2)))
        (local.set $q (i32.const 0))
        (block $doneQ (loop $loopQ
          (br_if $doneQ (i32.ge_u (local.get $q) (local.get $ow)))
          ;; p: window (r, q) top-left, relative to the tensors' starts; o: its dy position
          (local.set $p (i32.add (local.get $rowBase) (i32.shl (i32.mul (local.get $q) (local.get $c)) (i32.const 3))))
          (local.set $o (i32.sub (i32.add (local.get $outBase) (i32.shl (i32.mul (local.get $q) (local.get $c)) (i32.const 2))) (local.get $dy)))
          (if (i32.ge_s (local.get $kLast) (i32.const 0))
            (then
              (local.set $k (i32.const 0))
              (block $doneK (loop $loopK
                (local.set $a0 (v128.load (i32.add (local.get $x) (local.get $p))))
                (local.set $a1 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $right))))
                (local.set $a2 (v128.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $down))))
                (local.set $a3 (v128.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $down)) (local.get $right))))
                (local.set $g (v128.load (i32.add (local.get $dy) (local.get $o))))
                ;; c_j: a_j beats the running maximum; the maximum starts at −∞
                (local.set $c0 (f32x4.gt (local.get $a0) (f32x4.splat (f32.const -inf))))
                (local.set $best (v128.bitselect (local.get $a0) (f32x4.splat (f32.const -inf)) (local.get $c0)))
                (local.set $c1 (f32x4.gt (local.get $a1) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $a1) (local.get $best) (local.get $c1)))
                (local.set $c2 (f32x4.gt (local.get $a2) (local.get $best)))
                (local.set $best (v128.bitselect (local.get $a2) (local.get $best) (local.get $c2)))
                (local.set $c3 (f32x4.gt (local.get $a3) (local.get $best)))
                ;; the window's argmax is the last j whose c_j holds
                (local.set $c2 (v128.andnot (local.get $c2) (local.get $c3)))
                (local.set $c1 (v128.andnot (v128.andnot (local.get $c1) (local.get $c3)) (local.get $c2)))
                (local.set $c0 (v128.andnot (v128.andnot (v128.andnot (local.get $c0) (local.get $c3)) (local.get $c2)) (local.get $c1)))
                (v128.store (i32.add (local.get $dx) (local.get $p))
                  (f32x4.add (local.get $zero) (v128.and (local.get $g) (local.get $c0))))
                (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $right))
                  (f32x4.add (local.get $zero) (v128.and (local.get $g) (local.get $c1))))
                (v128.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $down))
                  (f32x4.add (local.get $zero) (v128.and (local.get $g) (local.get $c2))))
                (v128.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $down)) (local.get $right))
                  (f32x4.add (local.get $zero) (v128.and (local.get $g) (local.get $c3))))
                (br_if $doneK (i32.ge_s (local.get $k) (local.get $kLast)))
                ;; next 4 channels, or the overlapping last vector
                (local.set $k (i32.add (local.get $k) (i32.const 4)))
                (if (i32.gt_s (local.get $k) (local.get $kLast))
                  (then
                    (local.set $p (i32.sub (local.get $p) (i32.shl (i32.sub (local.get $k) (local.get $kLast)) (i32.const 2))))
                    (local.set $o (i32.sub (local.get $o) (i32.shl (i32.sub (local.get $k) (local.get $kLast)) (i32.const 2))))
                    (local.set $k (local.get $kLast))))
                (local.set $p (i32.add (local.get $p) (i32.const 16)))
                (local.set $o (i32.add (local.get $o) (i32.const 16)))
                (br $loopK))))
            (else
              (local.set $k (i32.const 0))
              (block $doneS (loop $loopS
                (br_if $doneS (i32.ge_u (local.get $k) (local.get $c)))
                (local.set $s0 (f32.load (i32.add (local.get $x) (local.get $p))))
                (local.set $s1 (f32.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $right))))
                (local.set $s2 (f32.load (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $down))))
                (local.set $s3 (f32.load (i32.add (i32.add (i32.add (local.get $x) (local.get $p)) (local.get $down)) (local.get $right))))
                (local.set $sb (f32.const -inf))
                (local.set $at (i32.const -1))
                (if (f32.gt (local.get $s0) (local.get $sb)) (then (local.set $sb (local.get $s0)) (local.set $at (i32.const 0))))
                (if (f32.gt (local.get $s1) (local.get $sb)) (then (local.set $sb (local.get $s1)) (local.set $at (i32.const 1))))
                (if (f32.gt (local.get $s2) (local.get $sb)) (then (local.set $sb (local.get $s2)) (local.set $at (i32.const 2))))
                (if (f32.gt (local.get $s3) (local.get $sb)) (then (local.set $at (i32.const 3))))
                (local.set $s0 (f32.load (i32.add (local.get $dy) (local.get $o))))
                (f32.store (i32.add (local.get $dx) (local.get $p))
                  (select (f32.add (f32.const 0) (local.get $s0)) (f32.const 0) (i32.eq (local.get $at) (i32.const 0))))
                (f32.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $right))
                  (select (f32.add (f32.const 0) (local.get $s0)) (f32.const 0) (i32.eq (local.get $at) (i32.const 1))))
                (f32.store (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $down))
                  (select (f32.add (f32.const 0) (local.get $s0)) (f32.const 0) (i32.eq (local.get $at) (i32.const 2))))
                (f32.store (i32.add (i32.add (i32.add (local.get $dx) (local.get $p)) (local.get $down)) (local.get $right))
                  (select (f32.add (f32.const 0) (local.get $s0)) (f32.const 0) (i32.eq (local.get $at) (i32.const 3))))
                (local.set $k (i32.add (local.get $k) (i32.const 1)))
                (local.set $p (i32.add (local.get $p) (i32.const 4)))
                (local.set $o (i32.add (local.get $o) (i32.const 4)))
                (br $loopS)))))
          (local.set $q (i32.add (local.get $q) (i32.const 1)))
          (br $loopQ)))
        (local.set $outBase (i32.add (local.get $outBase) (i32.shl (i32.mul (local.get $ow) (local.get $c)) (i32.const 2))))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $loopR)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $loopB)))
  )

  ;; Axis permutation out[r][q][p][s] = in[p][q][r][s] of float32 blocks (sizes P, Q, R, S ≥ 1): the
  ;; transposes of the convolution gradients, e.g. NHWC → CHWN (S = 1) and NHWC → HWNC (R = 1).
  ;; Writes in order; the reads of one (r, q) walk P rows, which stay in cache for the next r / q
  ;; when P·64 bytes fit (P = batch ≤ 512). Blocks copy in vectors of 4, then 2, then 1.
  (func (export "permuteRQP")
    (param $dst i32) (param $src i32) (param $P i32) (param $Q i32) (param $R i32) (param $S i32)
    (local $r i32) (local $q i32) (local $p i32) (local $i i32) (local $from i32) (local $rowStride i32) (local $bytes i32)
    (local.set $bytes (i32.shl (local.get $S) (i32.const 2)))
    (local.set $rowStride (i32.mul (i32.mul (local.get $Q) (local.get $R)) (local.get $bytes)))
    (local.set $r (i32.const 0))
    (block $doneR (loop $loopR
      (br_if $doneR (i32.ge_u (local.get $r) (local.get $R)))
      (local.set $q (i32.const 0))
      (block $doneQ (loop $loopQ
        (br_if $doneQ (i32.ge_u (local.get $q) (local.get $Q)))
        ;; in[0][q][r][0]
        (local.set $from (i32.add (local.get $src)
          (i32.mul (i32.add (i32.mul (local.get $q) (local.get $R)) (local.get $r)) (local.get $bytes))))
        (local.set $p (i32.const 0))
        (block $doneP (loop $loopP
          (br_if $doneP (i32.ge_u (local.get $p) (local.get $P)))
          (local.set $i (i32.const 0))
          (block $done4 (loop $loop4
            (br_if $done4 (i32.gt_s (i32.add (local.get $i) (i32.const 16)) (local.get $bytes)))
            (v128.store (i32.add (local.get $dst) (local.get $i)) (v128.load (i32.add (local.get $from) (local.get $i))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $loop4)))
          (if (i32.le_s (i32.add (local.get $i) (i32.const 8)) (local.get $bytes))
            (then
              (i64.store (i32.add (local.get $dst) (local.get $i)) (i64.load (i32.add (local.get $from) (local.get $i))))
              (local.set $i (i32.add (local.get $i) (i32.const 8)))))
          (if (i32.lt_s (local.get $i) (local.get $bytes))
            (then
              (i32.store (i32.add (local.get $dst) (local.get $i)) (i32.load (i32.add (local.get $from) (local.get $i))))))
          (local.set $dst (i32.add (local.get $dst) (local.get $bytes)))
          (local.set $from (i32.add (local.get $from) (local.get $rowStride)))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $loopP)))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $loopQ)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $loopR)))
  )

  ;; col2im for a stride-1 convolution without padding, NHWC: dx[b][i+u][j+v][ci] += cols[b][i][j][u][v][ci]
  ;; over every output position (i, j) and filter row u; for each, the run over (v, ci) is kw·c contiguous floats
  ;; on both sides. dx is zeroed first. With cols = dy·Wᵀ (one GEMM) this is the convolution's input
  ;; gradient without the zero padding that the transposed-convolution formulation multiplies through.
  (func (export "col2imValid")
    (param $dx i32) (param $cols i32) (param $n i32) (param $h i32) (param $w i32) (param $oh i32) (param $ow i32)
    (param $kh i32) (param $kw i32) (param $c i32)
    (local $b i32) (local $i i32) (local $j i32) (local $u i32) (local $k i32) (local $run i32)
    (local $src i32) (local $dst i32) (local $rowBytes i32)
    (memory.fill (local.get $dx) (i32.const 0)
      (i32.shl (i32.mul (i32.mul (i32.mul (local.get $n) (local.get $h)) (local.get $w)) (local.get $c)) (i32.const 2)))
    (local.set $run (i32.shl (i32.mul (local.get $kw) (local.get $c)) (i32.const 2)))
    (local.set $rowBytes (i32.shl (i32.mul (local.get $w) (local.get $c)) (i32.const 2)))
    (local.set $src (local.get $cols))
    (local.set $b (i32.const 0))
    (block $doneB (loop $loopB
      (br_if $doneB (i32.ge_u (local.get $b) (local.get $n)))
      (local.set $i (i32.const 0))
      (block $doneI (loop $loopI
        (br_if $doneI (i32.ge_u (local.get $i) (local.get $oh)))
        (local.set $j (i32.const 0))
        (block $doneJ (loop $loopJ
          (br_if $doneJ (i32.ge_u (local.get $j) (local.get $ow)))
          (local.set $u (i32.const 0))
          (block $doneU (loop $loopU
            (br_if $doneU (i32.ge_u (local.get $u) (local.get $kh)))
            ;; dx[b][i+u][j][0]
            (local.set $dst (i32.add (local.get $dx)
              (i32.add
                (i32.mul (i32.add (i32.mul (local.get $b) (local.get $h)) (i32.add (local.get $i) (local.get $u))) (local.get $rowBytes))
                (i32.shl (i32.mul (local.get $j) (local.get $c)) (i32.const 2)))))
            (local.set $k (i32.const 0))
            (block $done4 (loop $loop4
              (br_if $done4 (i32.gt_s (i32.add (local.get $k) (i32.const 16)) (local.get $run)))
              (v128.store (i32.add (local.get $dst) (local.get $k))
                (f32x4.add (v128.load (i32.add (local.get $dst) (local.get $k))) (v128.load (i32.add (local.get $src) (local.get $k)))))
              (local.set $k (i32.add (local.get $k) (i32.const 16)))
              (br $loop4)))
            (block $done1 (loop $loop1
              (br_if $done1 (i32.ge_s (local.get $k) (local.get $run)))
              (f32.store (i32.add (local.get $dst) (local.get $k))
                (f32.add (f32.load (i32.add (local.get $dst) (local.get $k))) (f32.load (i32.add (local.get $src) (local.get $k)))))
              (local.set $k (i32.add (local.get $k) (i32.const 4)))
              (br $loop1)))
            (local.set $src (i32.add (local.get $src) (local.get $run)))
            (local.set $u (i32.add (local.get $u) (i32.const 1)))
            (br $loopU)))
          (local.set $j (i32.add (local.get $j) (i32.const 1)))
          (br $loopJ)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loopI)))
      (local.set $b (i32.add (local.get $b) (i32.const 1)))
      (br $loopB)))
  )
)
