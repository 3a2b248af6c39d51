//! Fused sequence operations with hand-written backward passes: the bidirectional GRU recurrence
//! and the unfold (im2col) of the convolutions.
//!
//! Under Burn's autodiff, a recurrence written with tensor ops records ~15 graph nodes per time
//! step, and every per-step slice of the precomputed input projections backpropagates by
//! allocating a zero tensor of the *whole* sequence's size. Here the whole bidirectional sequence
//! is one autodiff node: the forward pass runs on the inner backend and keeps the gate
//! activations, and the backward pass is backpropagation through time. Likewise the unfold of a
//! `[b, l, c]` sequence into `[b·l, k·c]` windows is one node whose backward is the fold.
//!
//! [`GruBackend`] has generic implementations written with tensor ops (used by CUDA); the CPU
//! backend overrides them with loops over contiguous buffers (`cpu_ops.rs`), which avoid the
//! strided copies and per-op allocations of the tensor-op version and run the two GRU directions
//! on two threads.
//!
//! GRU (PyTorch's formulation): r = σ(x_r + h W_r + b_r), z = σ(x_z + h W_z + b_z),
//! n = tanh(x_n + r ⊙ (h W_n + b_n)), h' = (1 − z) ⊙ n + z ⊙ h.

use burn::backend::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::backend::Backend;
use burn::tensor::ops::{FloatTensor, IntTensor};
use burn::tensor::{Int, Tensor, TensorMetadata, TensorPrimitive};

/// What the GRU's backward pass needs from the forward pass (backend-specific contents).
#[derive(Debug, Clone)]
pub struct GruTape<B: Backend> {
    pub saved: Vec<FloatTensor<B>>,
    pub rev: IntTensor<B>,
    /// Batch, length, hidden.
    pub dims: [usize; 3],
}

/// Backends with fused sequence operations.
pub trait GruBackend: Backend {
    /// Inference batches run at once on separate threads. The CPU backend runs more than one so
    /// that the single-threaded parts of a forward pass (elementwise ops, copies) of one batch
    /// overlap with the rest of another; a GPU queues its work and keeps 1.
    fn inference_workers() -> usize {
        1
    }

    /// Bidirectional GRU over a padded batch. `proj`: input projections `[b·l, 6h]` (batch-major;
    /// the forward direction's r, z, n gates, then the backward direction's); `w`: recurrent
    /// weights `[2, h, 3h]`; `bias`: `[2, 1, 3h]`; `rev`: the batch's reversal index `[b·l]` (the
    /// backward direction reads each sequence reversed within its length) → hidden states
    /// `[b·l, 2h]` in reading order (forward ⊕ backward), h₀ = 0.
    fn bigru(
        proj: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        rev: IntTensor<Self>,
        b: usize,
        l: usize,
    ) -> FloatTensor<Self> {
        Self::bigru_forward(proj, w, bias, rev, b, l, false).0
    }

    /// [`GruBackend::bigru`], keeping what the backward pass needs when `keep`.
    fn bigru_forward(
        proj: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        rev: IntTensor<Self>,
        b: usize,
        l: usize,
        keep: bool,
    ) -> (FloatTensor<Self>, Option<GruTape<Self>>) {
        generic_forward::<Self>(proj, w, bias, rev, b, l, keep)
    }

    /// Gradients of `proj`, `w` and `bias` from the output gradient `[b·l, 2h]`.
    fn bigru_backward(tape: GruTape<Self>, dout: FloatTensor<Self>) -> [FloatTensor<Self>; 3] {
        generic_backward::<Self>(tape, dout)
    }

    /// `x`: `[b, l, c]` → `[b·l, k·c]`: row (i, t) holds x[i, t − k/2 + j] for j in 0..k (zero
    /// outside the sequence), the input of a "same"-padded convolution as one matmul.
    fn seq_unfold(x: FloatTensor<Self>, k: usize) -> FloatTensor<Self> {
        generic_unfold::<Self>(float(x), k).into_primitive().tensor()
    }

    /// Element-wise tanh.
    fn fast_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_tanh(x)
    }

    /// The gradient of tanh from its output `y`: dy · (1 − y²).
    fn tanh_backward(y: FloatTensor<Self>, dy: FloatTensor<Self>) -> FloatTensor<Self> {
        let y2 = Self::float_mul(y.clone(), y);
        Self::float_mul(dy, Self::float_add_scalar(Self::float_neg(y2), 1.0f32.into()))
    }

    /// The adjoint of [`GruBackend::seq_unfold`]: `[b·l, k·c]` → `[b, l, c]`.
    fn seq_fold(
        cols: FloatTensor<Self>,
        b: usize,
        l: usize,
        c: usize,
        k: usize,
    ) -> FloatTensor<Self> {
        generic_fold::<Self>(float(cols), b, l, c, k).into_primitive().tensor()
    }
}

pub(crate) fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

fn prim<B: Backend, const D: usize>(t: Tensor<B, D>) -> FloatTensor<B> {
    t.into_primitive().tensor()
}

/// The unfold with tensor ops: zero padding, k shifted slices, concatenated.
pub(crate) fn generic_unfold<B: Backend>(x: Tensor<B, 3>, k: usize) -> Tensor<B, 2> {
    let [b, l, c] = x.dims();
    let half = k / 2;
    let z = Tensor::<B, 3>::zeros([b, half, c], &x.device());
    let padded = Tensor::cat(vec![z.clone(), x, z], 1);
    let shifted: Vec<Tensor<B, 3>> = (0..k).map(|j| padded.clone().narrow(1, j, l)).collect();
    Tensor::cat(shifted, 2).reshape([b * l, k * c])
}

/// The fold with tensor ops: each window slot, zero padded, shifted back and summed.
fn generic_fold<B: Backend>(
    cols: Tensor<B, 2>,
    b: usize,
    l: usize,
    c: usize,
    k: usize,
) -> Tensor<B, 3> {
    let half = k / 2;
    let cols = cols.reshape([b, l, k * c]);
    let device = cols.device();
    let mut dx = Tensor::<B, 3>::zeros([b, l, c], &device);
    for j in 0..k {
        let piece = cols.clone().narrow(2, j * c, c);
        let z = Tensor::<B, 3>::zeros([b, half, c], &device);
        let padded = Tensor::cat(vec![z.clone(), piece, z], 1);
        dx = dx + padded.narrow(1, 2 * half - j, l);
    }
    dx
}

/// `[b·l, 6h]` batch-major projections → time-major `[l, 2, b, 3h]` with the backward direction
/// reversed within each sequence.
fn to_time_major<B: Backend>(
    proj: Tensor<B, 2>,
    rev: &Tensor<B, 1, Int>,
    b: usize,
    l: usize,
) -> Tensor<B, 4> {
    let g = proj.dims()[1] / 2;
    let fwd = proj.clone().narrow(1, 0, g);
    let bwd = proj.narrow(1, g, g).select(0, rev.clone());
    Tensor::stack::<4>(vec![fwd.reshape([b, l, g]), bwd.reshape([b, l, g])], 0)
        .permute([2, 0, 1, 3])
}

/// The inverse of [`to_time_major`]: `[l, 2, b, x]` → `[b·l, 2x]`.
fn to_batch_major<B: Backend>(t: Tensor<B, 4>, rev: &Tensor<B, 1, Int>) -> Tensor<B, 2> {
    let [l, _, b, x] = t.dims();
    let t = t.permute([1, 2, 0, 3]); // [2, b, l, x]
    let f = t.clone().narrow(0, 0, 1).reshape([b * l, x]);
    let r = t.narrow(0, 1, 1).reshape([b * l, x]).select(0, rev.clone());
    Tensor::cat(vec![f, r], 1)
}

/// The GRU with tensor ops (the CUDA path, and the reference the tests check against).
pub(crate) fn generic_forward<B: Backend>(
    proj: FloatTensor<B>,
    w: FloatTensor<B>,
    bias: FloatTensor<B>,
    rev: IntTensor<B>,
    b: usize,
    l: usize,
    keep: bool,
) -> (FloatTensor<B>, Option<GruTape<B>>) {
    let rev_t = Tensor::<B, 1, Int>::from_primitive(rev.clone());
    let xs = to_time_major(float::<B, 2>(proj), &rev_t, b, l);
    let w = float::<B, 3>(w);
    let bias = float::<B, 3>(bias);
    let (out, steps) = recurrence(xs, w.clone(), bias, keep);
    let h = out.dims()[3];
    let y = to_batch_major(out.clone(), &rev_t);
    let tape = keep.then(|| {
        let mut saved = vec![prim(w), prim(out)];
        saved.extend(steps.into_iter().flat_map(|s| s.into_iter().map(prim)));
        GruTape { saved, rev, dims: [b, l, h] }
    });
    (prim(y), tape)
}

/// `xs`: `[l, 2, b, 3h]` → states `[l, 2, b, h]` and, when `keep`, per step r, z, n and the
/// recurrent part of the candidate (h W_n + b_n).
fn recurrence<B: Backend>(
    xs: Tensor<B, 4>,
    w: Tensor<B, 3>,
    bias: Tensor<B, 3>,
    keep: bool,
) -> (Tensor<B, 4>, Vec<[Tensor<B, 3>; 4]>) {
    let [l, dirs, b, g] = xs.dims();
    let h = g / 3;
    let mut state = Tensor::<B, 3>::zeros([dirs, b, h], &xs.device());
    let mut outs = Vec::with_capacity(l);
    let mut steps = Vec::with_capacity(if keep { l } else { 0 });
    for t in 0..l {
        let xt: Tensor<B, 3> = xs.clone().narrow(0, t, 1).reshape([dirs, b, g]);
        let gh = state.clone().matmul(w.clone()) + bias.clone();
        let rz = sigmoid(xt.clone().narrow(2, 0, 2 * h) + gh.clone().narrow(2, 0, 2 * h));
        let r = rz.clone().narrow(2, 0, h);
        let z = rz.narrow(2, h, h);
        let gn = gh.narrow(2, 2 * h, h);
        let n = tanh(xt.narrow(2, 2 * h, h) + r.clone() * gn.clone());
        state = n.clone() + z.clone() * (state - n.clone());
        outs.push(state.clone());
        if keep {
            steps.push([r, z, n, gn]);
        }
    }
    (Tensor::stack::<4>(outs, 0), steps)
}

/// Backpropagation through time with tensor ops.
pub(crate) fn generic_backward<B: Backend>(
    tape: GruTape<B>,
    dout: FloatTensor<B>,
) -> [FloatTensor<B>; 3] {
    let [b, l, h] = tape.dims;
    let rev = Tensor::<B, 1, Int>::from_primitive(tape.rev);
    let mut saved = tape.saved.into_iter();
    let w = float::<B, 3>(saved.next().expect("w"));
    let out = float::<B, 4>(saved.next().expect("out"));
    let steps: Vec<[Tensor<B, 3>; 4]> = (0..l)
        .map(|_| std::array::from_fn(|_| float::<B, 3>(saved.next().expect("step"))))
        .collect();
    let dout = to_time_major(float::<B, 2>(dout), &rev, b, l); // [l, 2, b, h]
    let dirs = 2;
    let device = dout.device();
    let w_t = w.swap_dims(1, 2); // [2, 3h, h]
    let mut dh = Tensor::<B, 3>::zeros([dirs, b, h], &device);
    let mut dgh_steps: Vec<Tensor<B, 3>> = Vec::with_capacity(l);
    let mut dx_steps: Vec<Tensor<B, 3>> = Vec::with_capacity(l);
    for t in (0..l).rev() {
        dh = dh + dout.clone().narrow(0, t, 1).reshape([dirs, b, h]);
        let [r, z, n, gn] = steps[t].clone();
        let h_prev = if t == 0 {
            Tensor::zeros([dirs, b, h], &device)
        } else {
            out.clone().narrow(0, t - 1, 1).reshape([dirs, b, h])
        };
        let dn = dh.clone() - dh.clone() * z.clone();
        let dz = dh.clone() * (h_prev - n.clone());
        let dn_pre = dn * (n.clone() * n).neg().add_scalar(1.0);
        let dr_pre = dn_pre.clone() * gn * (r.clone() - r.clone() * r.clone());
        let dz_pre = dz * (z.clone() - z.clone() * z.clone());
        let dgh = Tensor::cat(vec![dr_pre.clone(), dz_pre.clone(), dn_pre.clone() * r], 2);
        dx_steps.push(Tensor::cat(vec![dr_pre, dz_pre, dn_pre], 2));
        dh = dh * z + dgh.clone().matmul(w_t.clone());
        dgh_steps.push(dgh);
    }
    dx_steps.reverse();
    dgh_steps.reverse();
    let dxs = Tensor::stack::<4>(dx_steps, 0); // [l, 2, b, 3h]
    let dgh = Tensor::stack::<4>(dgh_steps, 0);
    let h_prev_all =
        Tensor::cat(vec![Tensor::zeros([1, dirs, b, h], &device), out.narrow(0, 0, l - 1)], 0);
    // Σ_t h_{t-1}ᵀ dgh_t for each direction, as one batched matmul over (t, b).
    let hp = h_prev_all.permute([1, 3, 0, 2]).reshape([dirs, h, l * b]);
    let dg = dgh.clone().permute([1, 0, 2, 3]).reshape([dirs, l * b, 3 * h]);
    let dw = hp.matmul(dg);
    let db = dgh.sum_dim(0).sum_dim(2).reshape([dirs, 1, 3 * h]);
    [prim(to_batch_major(dxs, &rev)), prim(dw), prim(db)]
}

#[derive(Debug)]
struct GruBackward;

impl<B: GruBackend> Backward<B, 3> for GruBackward {
    type State = GruTape<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dout = grads.consume::<B>(&ops.node);
        let grad = B::bigru_backward(ops.state, dout);
        for (node, g) in ops.parents.into_iter().zip(grad) {
            if let Some(node) = node {
                grads.register::<B>(node.id, g);
            }
        }
    }
}

#[derive(Debug)]
struct TanhBackward;

impl<B: GruBackend> Backward<B, 1> for TanhBackward {
    /// The output.
    type State = FloatTensor<B>;

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let dy = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            grads.register::<B>(node.id, B::tanh_backward(ops.state, dy));
        }
    }
}

#[derive(Debug)]
struct UnfoldBackward;

impl<B: GruBackend> Backward<B, 1> for UnfoldBackward {
    /// b, l, c, k.
    type State = [usize; 4];

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let dcols = grads.consume::<B>(&ops.node);
        if let Some(node) = node {
            let [b, l, c, k] = ops.state;
            grads.register::<B>(node.id, B::seq_fold(dcols, b, l, c, k));
        }
    }
}

impl<B: GruBackend, C: CheckpointStrategy> GruBackend for Autodiff<B, C> {
    fn bigru(
        proj: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
        rev: IntTensor<Self>,
        b: usize,
        l: usize,
    ) -> FloatTensor<Self> {
        let (pi, wi, bi) = (proj.primitive.clone(), w.primitive.clone(), bias.primitive.clone());
        match GruBackward
            .prepare::<C>([proj.node.clone(), w.node.clone(), bias.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, tape) = B::bigru_forward(pi, wi, bi, rev, b, l, true);
                prep.finish(tape.expect("tape kept"), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::bigru(pi, wi, bi, rev, b, l)),
        }
    }

    fn fast_tanh(x: FloatTensor<Self>) -> FloatTensor<Self> {
        let xi = x.primitive.clone();
        match TanhBackward.prepare::<C>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let y = B::fast_tanh(xi);
                prep.finish(y.clone(), y)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::fast_tanh(xi)),
        }
    }

    fn seq_unfold(x: FloatTensor<Self>, k: usize) -> FloatTensor<Self> {
        let shape = x.primitive.shape();
        let (b, l, c) = (shape[0], shape[1], shape[2]);
        let xi = x.primitive.clone();
        match UnfoldBackward.prepare::<C>([x.node.clone()]).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish([b, l, c, k], B::seq_unfold(xi, k)),
            OpsKind::UnTracked(prep) => prep.finish(B::seq_unfold(xi, k)),
        }
    }
}

/// Runs [`GruBackend::bigru`] on tensors: `proj` `[b·l, 6h]` → `[b·l, 2h]`.
pub(crate) fn bigru<B: GruBackend>(
    proj: Tensor<B, 2>,
    w: Tensor<B, 3>,
    bias: Tensor<B, 3>,
    rev: &Tensor<B, 1, Int>,
    b: usize,
    l: usize,
) -> Tensor<B, 2> {
    float(B::bigru(prim(proj), prim(w), prim(bias), rev.clone().into_primitive(), b, l))
}

/// Runs [`GruBackend::fast_tanh`] on tensors.
pub(crate) fn fast_tanh<B: GruBackend, const D: usize>(x: Tensor<B, D>) -> Tensor<B, D> {
    float(B::fast_tanh(prim(x)))
}

/// Runs [`GruBackend::seq_unfold`] on tensors.
pub(crate) fn seq_unfold<B: GruBackend>(x: Tensor<B, 3>, k: usize) -> Tensor<B, 2> {
    float(B::seq_unfold(prim(x), k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    type A = Autodiff<Cpu>;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0
                    - 0.5
            })
            .collect()
    }

    fn mk(shape: Vec<usize>, seed: u32) -> TensorData {
        let n = shape.iter().product();
        TensorData::new(data(n, seed), shape)
    }

    fn close(x: &[f32], y: &[f32]) {
        assert_eq!(x.len(), y.len());
        for (p, q) in x.iter().zip(y) {
            assert!((p - q).abs() < 1e-5, "{p} vs {q}");
        }
    }

    /// Reversal index of a batch with the given lengths, padded to `l`.
    fn rev_index(lengths: &[usize], l: usize) -> Vec<i32> {
        let mut rev: Vec<i32> = (0..(lengths.len() * l) as i32).collect();
        for (i, &n) in lengths.iter().enumerate() {
            for t in 0..n {
                rev[i * l + t] = (i * l + n - 1 - t) as i32;
            }
        }
        rev
    }

    /// The fused GRU (forward and hand-written backward, on the CPU kernels and with the generic
    /// tensor-op backward) equals autodiff through the plain tensor-op recurrence, with padding.
    #[test]
    fn custom_backward_matches_autodiff() {
        let device = Default::default();
        let (l, h) = (5, 4);
        let lengths = [5, 3, 1];
        let b = lengths.len();
        let proj_d = mk(vec![b * l, 6 * h], 1);
        let w_d = mk(vec![2, h, 3 * h], 2);
        let b_d = mk(vec![2, 1, 3 * h], 3);
        let weights_d = mk(vec![b * l, 2 * h], 4);
        let rev_d = TensorData::new(rev_index(&lengths, l), [b * l]);
        let v = |t: FloatTensor<Cpu>| float::<Cpu, 1>(t).into_data().to_vec::<f32>().unwrap();
        let run = |custom: bool| {
            let proj = Tensor::<A, 2>::from_data(proj_d.clone(), &device).require_grad();
            let w = Tensor::<A, 3>::from_data(w_d.clone(), &device).require_grad();
            let bias = Tensor::<A, 3>::from_data(b_d.clone(), &device).require_grad();
            let rev = Tensor::<A, 1, Int>::from_data(rev_d.clone(), &device);
            let out = if custom {
                bigru(proj.clone(), w.clone(), bias.clone(), &rev, b, l)
            } else {
                let (o, _) = generic_forward::<A>(
                    prim(proj.clone()),
                    prim(w.clone()),
                    prim(bias.clone()),
                    rev.clone().into_primitive(),
                    b,
                    l,
                    false,
                );
                float(o)
            };
            let weights = Tensor::<A, 2>::from_data(weights_d.clone(), &device);
            let grads = (out.clone() * weights).sum().backward();
            [
                v(prim(out.inner().reshape([b * l * 2 * h]))),
                v(prim(proj.grad(&grads).unwrap().reshape([b * l * 6 * h]))),
                v(prim(w.grad(&grads).unwrap().reshape([2 * h * 3 * h]))),
                v(prim(bias.grad(&grads).unwrap().reshape([2 * 3 * h]))),
            ]
        };
        let (fused, plain) = (run(true), run(false));
        for (x, y) in fused.iter().zip(&plain) {
            close(x, y);
        }
        // The generic tensor-op backward (the CUDA path) on the CPU.
        let rev = Tensor::<Cpu, 1, Int>::from_data(rev_d.clone(), &device).into_primitive();
        let (out, tape) = generic_forward::<Cpu>(
            prim(Tensor::<Cpu, 2>::from_data(proj_d.clone(), &device)),
            prim(Tensor::<Cpu, 3>::from_data(w_d.clone(), &device)),
            prim(Tensor::<Cpu, 3>::from_data(b_d.clone(), &device)),
            rev,
            b,
            l,
            true,
        );
        close(&v(prim(float::<Cpu, 2>(out).reshape([b * l * 2 * h]))), &plain[0]);
        let dout = prim(Tensor::<Cpu, 2>::from_data(weights_d, &device));
        let [dp, dw, db] = generic_backward::<Cpu>(tape.unwrap(), dout);
        close(&v(prim(float::<Cpu, 2>(dp).reshape([b * l * 6 * h]))), &plain[1]);
        close(&v(prim(float::<Cpu, 3>(dw).reshape([2 * h * 3 * h]))), &plain[2]);
        close(&v(prim(float::<Cpu, 3>(db).reshape([2 * 3 * h]))), &plain[3]);
    }

    /// The fused unfold and its fold equal the tensor-op unfold under autodiff, and the generic
    /// fold is its adjoint too.
    #[test]
    fn unfold_and_fold_match_autodiff() {
        let device = Default::default();
        let (b, l, c) = (2, 4, 3);
        for k in [1, 3, 5] {
            let x_d = mk(vec![b, l, c], 7);
            let weights_d = mk(vec![b * l, k * c], 8);
            let run = |custom: bool| {
                let x = Tensor::<A, 3>::from_data(x_d.clone(), &device).require_grad();
                let cols =
                    if custom { seq_unfold(x.clone(), k) } else { generic_unfold(x.clone(), k) };
                let weights = Tensor::<A, 2>::from_data(weights_d.clone(), &device);
                let grads = (cols.clone() * weights).sum().backward();
                let v = |t: Tensor<Cpu, 1>| t.into_data().to_vec::<f32>().unwrap();
                (
                    v(cols.inner().reshape([b * l * k * c])),
                    v(x.grad(&grads).unwrap().reshape([b * l * c])),
                )
            };
            let (fused, plain) = (run(true), run(false));
            close(&fused.0, &plain.0);
            close(&fused.1, &plain.1);
            let dcols = Tensor::<Cpu, 2>::from_data(weights_d, &device);
            let dx = generic_fold::<Cpu>(dcols, b, l, c, k).reshape([b * l * c]);
            close(&dx.into_data().to_vec::<f32>().unwrap(), &plain.1);
        }
    }
}
