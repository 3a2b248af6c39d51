//! The GRU recurrence as one autodiff operation with a hand-written backward pass.
//!
//! Under Burn's autodiff, a recurrence written with tensor ops records ~15 graph nodes per time
//! step, and every per-step slice of the precomputed input projections backpropagates by
//! allocating a zero tensor of the *whole* sequence's size: the profile of the first version
//! spent most of a training step in `memset`/`memmove` and strided copies. Here the whole
//! sequence (both directions batched) is one node: the forward pass runs on the inner backend and
//! keeps the gate activations, and the backward pass is backpropagation through time written
//! with inner-backend ops — per step a few element-wise ops and one batched matmul, and the
//! recurrent weight gradient for all steps in one matmul at the end.
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
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

/// Backends that run a whole GRU sequence as one operation.
pub trait GruBackend: Backend {
    /// `xs`: input projections `[l, 2, b, 3h]` (time-major, two directions); `w`: recurrent
    /// weights `[2, h, 3h]`; `bias`: `[2, 1, 3h]` → hidden states `[l, 2, b, h]` (h₀ = 0).
    fn gru_sequence(
        xs: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let (out, _) = gru_forward::<Self>(float(xs), float(w), float(bias), false);
        out.into_primitive().tensor()
    }
}

fn float<B: Backend, const D: usize>(t: FloatTensor<B>) -> Tensor<B, D> {
    Tensor::from_primitive(TensorPrimitive::Float(t))
}

/// What the backward pass needs from the forward pass.
#[derive(Debug, Clone)]
pub struct GruTape<B: Backend> {
    w: Tensor<B, 3>,
    out: Tensor<B, 4>,
    /// Per step: r, z, n and the recurrent part of the candidate (h W_n + b_n), each `[2, b, h]`.
    steps: Vec<[Tensor<B, 3>; 4]>,
}

fn gru_forward<B: Backend>(
    xs: Tensor<B, 4>,
    w: Tensor<B, 3>,
    bias: Tensor<B, 3>,
    keep: bool,
) -> (Tensor<B, 4>, Option<GruTape<B>>) {
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
    let out = Tensor::stack::<4>(outs, 0);
    let tape = keep.then(|| GruTape { w, out: out.clone(), steps });
    (out, tape)
}

/// Gradients of the input projections, recurrent weights and bias from the output gradient.
fn gru_backward<B: Backend>(
    tape: GruTape<B>,
    dout: Tensor<B, 4>,
) -> (Tensor<B, 4>, Tensor<B, 3>, Tensor<B, 3>) {
    let [l, dirs, b, h] = dout.dims();
    let device = dout.device();
    let w_t = tape.w.swap_dims(1, 2); // [2, 3h, h]
    let mut dh = Tensor::<B, 3>::zeros([dirs, b, h], &device);
    let mut dgh_steps: Vec<Tensor<B, 3>> = Vec::with_capacity(l);
    let mut dx_steps: Vec<Tensor<B, 3>> = Vec::with_capacity(l);
    for t in (0..l).rev() {
        dh = dh + dout.clone().narrow(0, t, 1).reshape([dirs, b, h]);
        let [r, z, n, gn] = tape.steps[t].clone();
        let h_prev = if t == 0 {
            Tensor::zeros([dirs, b, h], &device)
        } else {
            tape.out.clone().narrow(0, t - 1, 1).reshape([dirs, b, h])
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
        Tensor::cat(vec![Tensor::zeros([1, dirs, b, h], &device), tape.out.narrow(0, 0, l - 1)], 0);
    // Σ_t h_{t-1}ᵀ dgh_t for each direction, as one batched matmul over (t, b).
    let hp = h_prev_all.permute([1, 3, 0, 2]).reshape([dirs, h, l * b]);
    let dg = dgh.clone().permute([1, 0, 2, 3]).reshape([dirs, l * b, 3 * h]);
    let dw = hp.matmul(dg);
    let db = dgh.sum_dim(0).sum_dim(2).reshape([dirs, 1, 3 * h]);
    (dxs, dw, db)
}

#[derive(Debug)]
struct GruBackward;

impl<B: Backend> Backward<B, 3> for GruBackward {
    type State = GruTape<B>;

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node_x, node_w, node_b] = ops.parents;
        let dout = float::<B, 4>(grads.consume::<B>(&ops.node));
        let (dx, dw, db) = gru_backward(ops.state, dout);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, dx.into_primitive().tensor());
        }
        if let Some(node) = node_w {
            grads.register::<B>(node.id, dw.into_primitive().tensor());
        }
        if let Some(node) = node_b {
            grads.register::<B>(node.id, db.into_primitive().tensor());
        }
    }
}

impl<B: GruBackend, C: CheckpointStrategy> GruBackend for Autodiff<B, C> {
    fn gru_sequence(
        xs: FloatTensor<Self>,
        w: FloatTensor<Self>,
        bias: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        let inner = |t: &FloatTensor<Self>| t.primitive.clone();
        let (xs_i, w_i, b_i) =
            (float::<B, 4>(inner(&xs)), float::<B, 3>(inner(&w)), float::<B, 3>(inner(&bias)));
        match GruBackward
            .prepare::<C>([xs.node.clone(), w.node.clone(), bias.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let (out, tape) = gru_forward::<B>(xs_i, w_i, b_i, true);
                prep.finish(tape.expect("tape kept"), out.into_primitive().tensor())
            }
            OpsKind::UnTracked(prep) => {
                let out = B::gru_sequence(
                    xs_i.into_primitive().tensor(),
                    w_i.into_primitive().tensor(),
                    b_i.into_primitive().tensor(),
                );
                prep.finish(out)
            }
        }
    }
}

/// Runs the GRU recurrence of [`GruBackend::gru_sequence`] on tensors.
pub(crate) fn gru_sequence<B: GruBackend>(
    xs: Tensor<B, 4>,
    w: Tensor<B, 3>,
    bias: Tensor<B, 3>,
) -> Tensor<B, 4> {
    float(B::gru_sequence(
        xs.into_primitive().tensor(),
        w.into_primitive().tensor(),
        bias.into_primitive().tensor(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::tensor::TensorData;

    fn data(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 / 1000.0
                    - 0.5
            })
            .collect()
    }

    /// The hand-written backward equals autodiff through the plain tensor-op recurrence.
    #[test]
    fn custom_backward_matches_autodiff() {
        type A = Autodiff<Cpu>;
        let device = Default::default();
        let (l, b, h) = (5, 3, 4);
        let mk = |shape: Vec<usize>, seed| {
            let n = shape.iter().product();
            TensorData::new(data(n, seed), shape)
        };
        let xs_d = mk(vec![l, 2, b, 3 * h], 1);
        let w_d = mk(vec![2, h, 3 * h], 2);
        let b_d = mk(vec![2, 1, 3 * h], 3);
        let weights = Tensor::<A, 4>::from_data(mk(vec![l, 2, b, h], 4), &device);
        let run = |custom: bool| {
            let xs = Tensor::<A, 4>::from_data(xs_d.clone(), &device).require_grad();
            let w = Tensor::<A, 3>::from_data(w_d.clone(), &device).require_grad();
            let bias = Tensor::<A, 3>::from_data(b_d.clone(), &device).require_grad();
            let out = if custom {
                gru_sequence(xs.clone(), w.clone(), bias.clone())
            } else {
                gru_forward::<A>(xs.clone(), w.clone(), bias.clone(), false).0
            };
            let grads = (out.clone() * weights.clone()).sum().backward();
            let v = |t: Tensor<Cpu, 4>| t.into_data().to_vec::<f32>().unwrap();
            let v3 = |t: Tensor<Cpu, 3>| t.into_data().to_vec::<f32>().unwrap();
            (
                v(out.inner()),
                v(xs.grad(&grads).unwrap()),
                v3(w.grad(&grads).unwrap()),
                v3(bias.grad(&grads).unwrap()),
            )
        };
        let (a, b2) = (run(true), run(false));
        for (x, y) in [(a.0, b2.0), (a.1, b2.1), (a.2, b2.2), (a.3, b2.3)] {
            assert_eq!(x.len(), y.len());
            for (p, q) in x.iter().zip(&y) {
                assert!((p - q).abs() < 1e-5, "{p} vs {q}");
            }
        }
    }
}
