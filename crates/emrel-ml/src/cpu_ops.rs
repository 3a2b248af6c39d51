//! The CPU backend's fused sequence kernels ([`GruBackend`] for `flex`).
//!
//! Plain loops over contiguous buffers with the matrix products done by flex's gemm: the GRU
//! reads its input projections in the batch-major layout the input matmul wrote and writes its
//! states straight into the `[b·l, 2h]` layout the next matmul reads, so no strided copies remain;
//! the gates are one fused loop per step; the two directions run on two threads (each step's
//! matmul is kept below flex's parallel threshold so the threads do not contend for rayon's
//! pool). The unfold and fold copy whole channel rows.

use burn::tensor::TensorData;
use burn::tensor::ops::{FloatTensor, FloatTensorOps, IntTensor};
use burn_flex::FlexTensor;

use crate::backend::Cpu;
use crate::gru::{GruBackend, GruTape};

/// Runs a kernel compiled for the best SIMD level of this CPU (AVX-512, else AVX2 + FMA, else
/// the baseline), chosen at run time, so that its plain loops vectorize 8–16 lanes wide instead
/// of SSE2's 4. `#[target_feature]` code needs `unsafe` to call; pulp wraps that safely. A
/// kernel is a struct of its arguments whose `with_simd` is `#[inline(always)]` and calls only
/// `#[inline(always)]` code where it should vectorize (a closure body would not be inlined).
#[inline(always)]
fn simd<K: pulp::WithSimd>(kernel: K) -> K::Output {
    pulp::Arch::new().dispatch(kernel)
}

/// Declares a kernel struct holding the arguments of an `#[inline(always)]` function and runs
/// that function under [`simd`].
macro_rules! kernel {
    ($name:ident<$lt:lifetime> { $($field:ident: $ty:ty),* $(,)? } -> $out:ty = $body:ident) => {
        struct $name<$lt> { $($field: $ty),* }
        impl<$lt> pulp::WithSimd for $name<$lt> {
            type Output = $out;
            #[inline(always)]
            fn with_simd<S: pulp::Simd>(self, _: S) -> $out {
                $body($(self.$field),*)
            }
        }
    };
}

kernel!(DirForward<'a> {
    seq: &'a Seq<'a>, proj: &'a [f32], d: usize, w: &'a FlexTensor, bias: &'a [f32], keep: bool,
} -> (Vec<f32>, DirTape) = dir_forward_loops);
kernel!(DirBackward<'a> {
    seq: &'a Seq<'a>, dout: &'a [f32], d: usize, w: &'a FlexTensor, tape: &'a DirTape,
} -> (Vec<f32>, Vec<f32>, Vec<f32>) = dir_backward_loops);
kernel!(Tanh<'a> { x: &'a [f32] } -> Vec<f32> = tanh_loop);
kernel!(TanhBackward<'a> { y: &'a [f32], dy: &'a [f32] } -> Vec<f32> = tanh_backward_loop);

#[inline(always)]
fn tanh_loop(x: &[f32]) -> Vec<f32> {
    let mut y = vec![0.0f32; x.len()];
    for (o, &v) in y.iter_mut().zip(x) {
        *o = fast_tanh(v);
    }
    y
}

#[inline(always)]
fn tanh_backward_loop(y: &[f32], dy: &[f32]) -> Vec<f32> {
    let mut dx = vec![0.0f32; y.len()];
    for ((o, &y), &d) in dx.iter_mut().zip(y).zip(dy) {
        *o = d * (1.0 - y * y);
    }
    dx
}

/// flex runs a matmul on rayon's pool from m·n·k ≥ 192³ on.
const FLEX_PARALLEL_OPS: usize = 192 * 192 * 192;

fn tensor<const D: usize>(data: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(data, shape))
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.as_slice::<f32>().is_some() || t.as_slice::<i32>().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

fn slice(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32 tensor")
}

fn into_vec(t: FlexTensor) -> Vec<f32> {
    TensorData::into_vec::<f32>(t.into_data()).expect("f32 tensor")
}

/// `out[m, n] = lhs[m, k] · w[k, n]` on this thread (rows split so that flex stays serial).
fn matmul_serial(lhs: &[f32], m: usize, k: usize, w: &FlexTensor, n: usize, out: &mut [f32]) {
    let rows = ((FLEX_PARALLEL_OPS - 1) / (n * k).max(1)).max(1);
    let mut start = 0;
    while start < m {
        let r = rows.min(m - start);
        let a = tensor(lhs[start * k..(start + r) * k].to_vec(), [r, k]);
        let c = Cpu::float_matmul(a, w.clone());
        out[start * n..(start + r) * n].copy_from_slice(slice(&c));
        start += r;
    }
}

/// eˣ without a libm call (so that loops over it vectorize): 2ⁿ · p(r) with x = n ln 2 + r,
/// |r| ≤ ln 2 / 2, p a degree-6 Taylor polynomial (relative error < 2e-7 on that range).
/// Integer work only through bit patterns (no float → int casts, whose saturation and NaN
/// handling keep loops scalar).
#[inline(always)]
fn fast_exp(x: f32) -> f32 {
    const MAGIC: f32 = 12_582_912.0; // 1.5·2²³: adding it rounds to an integer in the low bits
    let x = x.clamp(-87.0, 88.0);
    let t = x * std::f32::consts::LOG2_E + MAGIC;
    let n = t - MAGIC;
    let r = x - n * 0.693_145_75 - n * 1.428_606_8e-6;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // t's bits are MAGIC's plus n, so 2ⁿ's bits are (n + 127) << 23.
    let two_n = f32::from_bits(t.to_bits().wrapping_sub(MAGIC.to_bits()).wrapping_add(127) << 23);
    p * two_n
}

#[inline(always)]
fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// tanh x = 1 − 2 / (e²ˣ + 1) (glibc's `tanhf` goes through the much slower `expm1f`).
#[inline(always)]
pub(crate) fn fast_tanh(x: f32) -> f32 {
    1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
}

/// One direction's forward pass: states `[(l + 1)·b·h]` (h₀ = 0 first) and, when kept, the
/// gates r, z, n and the recurrent candidate part, each `[l·b·h]`.
struct DirTape {
    hs: Vec<f32>,
    gates: [Vec<f32>; 4],
}

/// Shapes and the input rows one direction reads.
struct Seq<'a> {
    b: usize,
    l: usize,
    h: usize,
    /// `rows[i·l + t]`: the row of `[b·l, ·]` that step t of sequence i reads and writes.
    rows: &'a [usize],
}

/// (Run through [`simd`] as [`DirForward`].)
#[inline(always)]
fn dir_forward_loops(
    seq: &Seq,
    proj: &[f32],
    d: usize,
    w: &FlexTensor,
    bias: &[f32],
    keep: bool,
) -> (Vec<f32>, DirTape) {
    let Seq { b, l, h, rows } = *seq;
    let g = 3 * h;
    let mut hs = vec![0.0f32; (l + 1) * b * h];
    let mut gh = vec![0.0f32; b * g];
    let mut out = vec![0.0f32; b * l * h];
    let kept = if keep { l * b * h } else { 0 };
    let mut gates: [Vec<f32>; 4] = std::array::from_fn(|_| vec![0.0f32; kept]);
    for t in 0..l {
        let (done, rest) = hs.split_at_mut((t + 1) * b * h);
        let hprev = &done[t * b * h..];
        let hnext = &mut rest[..b * h];
        matmul_serial(hprev, b, h, w, g, &mut gh);
        for i in 0..b {
            let row = rows[i * l + t];
            let x = &proj[row * 2 * g + d * g..][..g];
            let ghi = &gh[i * g..][..g];
            // Every slice exactly h long, so that the loop below has no bounds checks and
            // vectorizes.
            let (xr, xz, xn) = (&x[..h], &x[h..2 * h], &x[2 * h..3 * h]);
            let (hr, hz, hnn) = (&ghi[..h], &ghi[h..2 * h], &ghi[2 * h..3 * h]);
            let (br, bz, bn) = (&bias[..h], &bias[h..2 * h], &bias[2 * h..3 * h]);
            let hp = &hprev[i * h..][..h];
            let hn = &mut hnext[i * h..][..h];
            if keep {
                let k0 = (t * b + i) * h;
                let [gr, gz, gnn, ggn] = &mut gates;
                let (gr, gz) = (&mut gr[k0..k0 + h], &mut gz[k0..k0 + h]);
                let (gnn, ggn) = (&mut gnn[k0..k0 + h], &mut ggn[k0..k0 + h]);
                for j in 0..h {
                    let r = sigmoid(xr[j] + hr[j] + br[j]);
                    let z = sigmoid(xz[j] + hz[j] + bz[j]);
                    let gn = hnn[j] + bn[j];
                    let n = fast_tanh(xn[j] + r * gn);
                    hn[j] = n + z * (hp[j] - n);
                    gr[j] = r;
                    gz[j] = z;
                    gnn[j] = n;
                    ggn[j] = gn;
                }
            } else {
                for j in 0..h {
                    let r = sigmoid(xr[j] + hr[j] + br[j]);
                    let z = sigmoid(xz[j] + hz[j] + bz[j]);
                    let n = fast_tanh(xn[j] + r * (hnn[j] + bn[j]));
                    hn[j] = n + z * (hp[j] - n);
                }
            }
            out[row * h..][..h].copy_from_slice(hn);
        }
    }
    (out, DirTape { hs, gates })
}

/// One direction's backward pass → (d proj part `[b·l, 3h]`, dW `[h, 3h]`, db `[3h]`).
/// (Run through [`simd`] as [`DirBackward`].)
#[inline(always)]
fn dir_backward_loops(
    seq: &Seq,
    dout: &[f32],
    d: usize,
    w: &FlexTensor,
    tape: &DirTape,
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let Seq { b, l, h, rows } = *seq;
    let g = 3 * h;
    let w_t = w.transpose(0, 1); // [3h, h]
    let mut dh = vec![0.0f32; b * h];
    let mut dh_rec = vec![0.0f32; b * h];
    let mut dgh = vec![0.0f32; l * b * g];
    let mut dproj = vec![0.0f32; b * l * g];
    let [gr, gz, gnn, ggn] = &tape.gates;
    for t in (0..l).rev() {
        let hprev = &tape.hs[t * b * h..][..b * h];
        let dg = &mut dgh[t * b * g..][..b * g];
        for i in 0..b {
            let row = rows[i * l + t];
            let dy = &dout[row * 2 * h + d * h..][..h];
            let dgi = &mut dg[i * g..][..g];
            let dp = &mut dproj[row * g..][..g];
            for j in 0..h {
                let k = (t * b + i) * h + j;
                let dhv = dh[i * h + j] + dh_rec[i * h + j] + dy[j];
                let (r, z, n, gn) = (gr[k], gz[k], gnn[k], ggn[k]);
                let dn_pre = dhv * (1.0 - z) * (1.0 - n * n);
                let dz_pre = dhv * (hprev[i * h + j] - n) * z * (1.0 - z);
                let dr_pre = dn_pre * gn * r * (1.0 - r);
                dgi[j] = dr_pre;
                dgi[h + j] = dz_pre;
                dgi[2 * h + j] = dn_pre * r;
                dp[j] = dr_pre;
                dp[h + j] = dz_pre;
                dp[2 * h + j] = dn_pre;
                dh[i * h + j] = dhv * z;
            }
        }
        if t > 0 {
            matmul_serial(dg, b, g, &w_t, h, &mut dh_rec);
        }
    }
    // dW = Σ_t h_{t−1}ᵀ dgh_t: one [h, l·b] × [l·b, 3h] product.
    let hprev_all = tensor(tape.hs[..l * b * h].to_vec(), [l * b, h]).transpose(0, 1);
    let mut db = vec![0.0f32; g];
    for row in dgh.chunks_exact(g) {
        for (acc, v) in db.iter_mut().zip(row) {
            *acc += v;
        }
    }
    let dw = into_vec(contiguous(Cpu::float_matmul(hprev_all, tensor(dgh, [l * b, g]))));
    (dproj, dw, db)
}

/// Interleaves two `[rows, x]` buffers into `[rows, 2x]`.
fn interleave(a: &[f32], b: &[f32], x: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(a.len() * 2);
    for (ra, rb) in a.chunks_exact(x).zip(b.chunks_exact(x)) {
        out.extend_from_slice(ra);
        out.extend_from_slice(rb);
    }
    out
}

fn rows_of(rev: &FlexTensor, b: usize, l: usize) -> [Vec<usize>; 2] {
    let rev = contiguous(rev.clone());
    let rev = rev.as_slice::<i32>().expect("i32 index");
    [(0..b * l).collect(), rev.iter().map(|&r| r as usize).collect()]
}

/// The recurrent weights of direction d as `[h, 3h]`.
fn dir_weight(w: &[f32], d: usize, h: usize) -> FlexTensor {
    let g = 3 * h;
    tensor(w[d * h * g..(d + 1) * h * g].to_vec(), [h, g])
}

impl GruBackend for Cpu {
    fn inference_workers() -> usize {
        // Asked once: on Linux `available_parallelism` reads the cgroup's CPU quota files.
        static WORKERS: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *WORKERS
            .get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 4)))
    }

    fn bigru_forward(
        proj: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        rev: IntTensor<Self>,
        b: usize,
        l: usize,
        keep: bool,
    ) -> (FloatTensor<Self>, Option<GruTape<Self>>) {
        let (proj, w, bias) = (contiguous(proj), contiguous(w), contiguous(bias));
        let h = w.layout().shape()[1];
        let g = 3 * h;
        let rows = rows_of(&rev, b, l);
        let (p, ws, bs) = (slice(&proj), slice(&w), slice(&bias));
        let w_d = [dir_weight(ws, 0, h), dir_weight(ws, 1, h)];
        let seqs = [Seq { b, l, h, rows: &rows[0] }, Seq { b, l, h, rows: &rows[1] }];
        let ((out0, tape0), (out1, tape1)) = std::thread::scope(|s| {
            let dir = |d: usize, bias: &'_ [f32]| {
                simd(DirForward { seq: &seqs[d], proj: p, d, w: &w_d[d], bias, keep })
            };
            let back = s.spawn(move || dir(1, &bs[g..]));
            let fwd = dir(0, &bs[..g]);
            (fwd, back.join().expect("gru thread"))
        });
        let out = tensor(interleave(&out0, &out1, h), [b * l, 2 * h]);
        let tape = keep.then(|| {
            let mut saved = vec![w];
            for t in [tape0, tape1] {
                saved.push(tensor(t.hs, [(l + 1) * b * h]));
                saved.extend(t.gates.into_iter().map(|v| tensor(v, [l * b * h])));
            }
            GruTape { saved, rev, dims: [b, l, h] }
        });
        (out, tape)
    }

    fn bigru_backward(tape: GruTape<Self>, dout: FloatTensor<Self>) -> [FloatTensor<Self>; 3] {
        let [b, l, h] = tape.dims;
        let g = 3 * h;
        let dout = contiguous(dout);
        let rows = rows_of(&tape.rev, b, l);
        let mut saved = tape.saved.into_iter();
        let w = saved.next().expect("w");
        let mut dirs: Vec<DirTape> = Vec::with_capacity(2);
        for _ in 0..2 {
            let hs = into_vec(saved.next().expect("states"));
            let gates = std::array::from_fn(|_| into_vec(saved.next().expect("gates")));
            dirs.push(DirTape { hs, gates });
        }
        let ws = slice(&w);
        let w_d = [dir_weight(ws, 0, h), dir_weight(ws, 1, h)];
        let seqs = [Seq { b, l, h, rows: &rows[0] }, Seq { b, l, h, rows: &rows[1] }];
        let dy = slice(&dout);
        let ((dp0, dw0, db0), (dp1, dw1, db1)) = std::thread::scope(|s| {
            let dir = |d: usize| {
                simd(DirBackward { seq: &seqs[d], dout: dy, d, w: &w_d[d], tape: &dirs[d] })
            };
            let back = s.spawn(move || dir(1));
            let fwd = dir(0);
            (fwd, back.join().expect("gru thread"))
        });
        let dproj = tensor(interleave(&dp0, &dp1, g), [b * l, 2 * g]);
        let dw = tensor([dw0, dw1].concat(), [2, h, g]);
        let db = tensor([db0, db1].concat(), [2, 1, g]);
        [dproj, dw, db]
    }

    fn seq_unfold(x: FloatTensor<Self>, k: usize) -> FloatTensor<Self> {
        let x = contiguous(x);
        let shape = x.layout().shape().clone();
        let (b, l, c) = (shape[0], shape[1], shape[2]);
        let xs = slice(&x);
        let (half, kc) = (k / 2, k * c);
        // Written row by row without zero-filling the whole buffer first: only the taps that
        // fall outside a sequence are zeros.
        let mut cols = Vec::with_capacity(b * l * kc);
        for row in 0..b * l {
            let (i, t) = (row / l, row % l);
            for j in 0..k {
                match (t + j).checked_sub(half).filter(|&s| s < l) {
                    Some(s) => cols.extend_from_slice(&xs[(i * l + s) * c..][..c]),
                    None => cols.resize(cols.len() + c, 0.0),
                }
            }
        }
        tensor(cols, [b * l, kc])
    }

    fn fast_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let x = contiguous(x);
        let shape = x.layout().shape().clone();
        let y = simd(Tanh { x: slice(&x) });
        FlexTensor::from_data(TensorData::new(y, shape))
    }

    fn tanh_backward(y: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        let (y, dy) = (contiguous(y), contiguous(dy));
        let shape = y.layout().shape().clone();
        let dx = simd(TanhBackward { y: slice(&y), dy: slice(&dy) });
        FlexTensor::from_data(TensorData::new(dx, shape))
    }

    fn seq_fold(
        cols: FloatTensor<Self>,
        b: usize,
        l: usize,
        c: usize,
        k: usize,
    ) -> FloatTensor<Self> {
        let cols = contiguous(cols);
        let cs = slice(&cols);
        let (half, kc) = (k / 2, k * c);
        let mut dx = vec![0.0f32; b * l * c];
        for (row, src) in cs.chunks_exact(kc).enumerate() {
            let (i, t) = (row / l, row % l);
            for j in 0..k {
                if let Some(s) = (t + j).checked_sub(half).filter(|&s| s < l) {
                    let dst = &mut dx[(i * l + s) * c..][..c];
                    for (a, v) in dst.iter_mut().zip(&src[j * c..(j + 1) * c]) {
                        *a += v;
                    }
                }
            }
        }
        tensor(dx, [b, l, c])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_exp_and_tanh_match_libm() {
        let mut worst = (0.0f32, 0.0f32);
        for i in -87_000..88_000 {
            let x = i as f32 / 1000.0;
            let rel = ((fast_exp(x) - x.exp()) / x.exp()).abs();
            worst.0 = worst.0.max(rel);
            worst.1 = worst.1.max((fast_tanh(x / 8.0) - (x / 8.0).tanh()).abs());
        }
        assert!(worst.0 < 1e-6, "exp relative error {}", worst.0);
        assert!(worst.1 < 1e-6, "tanh absolute error {}", worst.1);
        // Saturation at both ends, NaN kept.
        assert_eq!(fast_tanh(40.0), 1.0);
        assert_eq!(fast_tanh(-40.0), -1.0);
        assert!((sigmoid(-200.0)).abs() < 1e-37);
        assert!(fast_exp(f32::NAN).is_nan());
        // The kernels under the SIMD dispatch compute the same as the scalar functions.
        let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) / 50.0).collect();
        let ys = simd(Tanh { x: &xs });
        assert!(xs.iter().zip(&ys).all(|(&x, &y)| y == fast_tanh(x)));
        let dys = simd(TanhBackward { y: &ys, dy: &xs });
        assert!(dys.iter().zip(ys.iter().zip(&xs)).all(|(&d, (&y, &g))| d == g * (1.0 - y * y)));
    }
}
