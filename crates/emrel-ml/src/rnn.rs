//! Bidirectional GRU and LSTM layers written for speed on every backend.
//!
//! Burn's own RNN modules take no sequence lengths, so with padded batches their reverse
//! direction would read the padding first. Here the backward direction runs over each sequence
//! reversed within its own length (a row gather with the batch's reversal index), so padding is
//! always at the end and never reaches a real position. Per layer:
//! - the input projections of both directions and all time steps are one matmul;
//! - both directions advance together: one batched matmul `[2, b, h] × [2, h, g·h]` per step
//!   computes every gate of both directions, followed by a few fused element-wise ops.
//!
//! Weights are initialised as PyTorch does, U(-1/√h, 1/√h).

use burn::module::{Module, Param};
use burn::tensor::activation::{sigmoid, tanh};
use burn::tensor::backend::Backend;
use burn::tensor::{Int, Tensor};
use rand_chacha::ChaCha8Rng;

use crate::gru::{GruBackend, bigru};
use crate::layers::uniform;

/// One bidirectional recurrent layer (GRU with 3 gates or LSTM with 4).
#[derive(Module, Debug)]
pub(crate) struct BiRnnLayer<B: Backend> {
    /// `[d_in, 2 · gates · hidden]`: forward direction's gates, then the backward direction's.
    pub w_ih: Param<Tensor<B, 2>>,
    pub b_ih: Param<Tensor<B, 1>>,
    /// `[2, hidden, gates · hidden]`.
    pub w_hh: Param<Tensor<B, 3>>,
    /// `[2, 1, gates · hidden]`.
    pub b_hh: Param<Tensor<B, 3>>,
    pub hidden: usize,
    pub lstm: bool,
}

impl<B: Backend> BiRnnLayer<B> {
    pub fn new(
        rng: &mut ChaCha8Rng,
        d_in: usize,
        hidden: usize,
        lstm: bool,
        device: &B::Device,
    ) -> Self {
        let g = if lstm { 4 } else { 3 };
        let bound = 1.0 / (hidden as f32).sqrt();
        BiRnnLayer {
            w_ih: uniform(rng, [d_in, 2 * g * hidden], bound, device),
            b_ih: uniform(rng, [2 * g * hidden], bound, device),
            w_hh: uniform(rng, [2, hidden, g * hidden], bound, device),
            b_hh: uniform(rng, [2, 1, g * hidden], bound, device),
            hidden,
            lstm,
        }
    }

    fn gates(&self) -> usize {
        if self.lstm { 4 } else { 3 }
    }
}

impl<B: GruBackend> BiRnnLayer<B> {
    /// `x`: `[b, l, d_in]`; `rev`: the batch's reversal index `[b · l]` → `[b, l, 2 · hidden]`.
    pub fn forward(&self, x: Tensor<B, 3>, rev: &Tensor<B, 1, Int>) -> Tensor<B, 3> {
        let [b, l, d] = x.dims();
        let (h, gh) = (self.hidden, self.gates() * self.hidden);
        let proj = x.reshape([b * l, d]).matmul(self.w_ih.val()) + self.b_ih.val().unsqueeze_dim(0);
        let w_hh = self.w_hh.val();
        let b_hh = self.b_hh.val();
        if !self.lstm {
            // The GRU runs as one operation with its own backward pass (see `gru.rs`).
            return bigru(proj, w_hh, b_hh, rev, b, l).reshape([b, l, 2 * h]);
        }
        let fwd = proj.clone().narrow(1, 0, gh);
        let bwd = proj.narrow(1, gh, gh).select(0, rev.clone());
        // [2, b, l, g·h] → time-major [l, 2, b, g·h] so that each step is one slice.
        let xs = Tensor::stack::<4>(vec![fwd.reshape([b, l, gh]), bwd.reshape([b, l, gh])], 0)
            .permute([2, 0, 1, 3]);
        let device = w_hh.device();
        let mut state = Tensor::<B, 3>::zeros([2, b, h], &device);
        let mut cell = Tensor::<B, 3>::zeros([2, b, h], &device);
        let mut steps = Vec::with_capacity(l);
        split_steps(xs, &mut steps);
        let mut outs = Vec::with_capacity(l);
        for xt in steps {
            let xt: Tensor<B, 3> = xt.reshape([2, b, gh]);
            let pre = xt + state.matmul(w_hh.clone()) + b_hh.clone();
            let ifo = sigmoid(pre.clone().narrow(2, 0, 3 * h));
            let g = tanh(pre.narrow(2, 3 * h, h));
            let i = ifo.clone().narrow(2, 0, h);
            let f = ifo.clone().narrow(2, h, h);
            let o = ifo.narrow(2, 2 * h, h);
            cell = f * cell + i * g;
            state = o * tanh(cell.clone());
            outs.push(state.clone());
        }
        // [l, 2, b, h] → [2, b, l, h]
        let out = Tensor::stack::<4>(outs, 0).permute([1, 2, 0, 3]);
        self.unreverse(out, rev, b, l)
    }

    /// `[2, b, l, h]` (backward direction reversed) → `[b, l, 2h]`, both in reading order.
    fn unreverse(
        &self,
        out: Tensor<B, 4>,
        rev: &Tensor<B, 1, Int>,
        b: usize,
        l: usize,
    ) -> Tensor<B, 3> {
        let h = self.hidden;
        let out_f = out.clone().narrow(0, 0, 1).reshape([b * l, h]);
        let out_b = out.narrow(0, 1, 1).reshape([b * l, h]).select(0, rev.clone());
        Tensor::cat(vec![out_f, out_b], 1).reshape([b, l, 2 * h])
    }
}

/// Splits `x` along dimension 0 into its slices, in order, through a binary tree of narrows.
/// Autodiff's backward of a narrow is a zero tensor of the narrowed tensor's full size with the
/// gradient written in, so narrowing each of l steps straight from the whole sequence costs
/// O(l²) in gradient buffers (l full-size zero tensors, summed); halving recursively costs
/// O(l log l).
pub(crate) fn split_steps<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    out: &mut Vec<Tensor<B, D>>,
) {
    let n = x.dims()[0];
    if n <= 1 {
        out.push(x);
        return;
    }
    let half = n / 2;
    split_steps(x.clone().narrow(0, 0, half), out);
    split_steps(x.narrow(0, half, n - half), out);
}

/// Stacked bidirectional layers.
#[derive(Module, Debug)]
pub(crate) struct BiRnn<B: Backend> {
    pub layers: Vec<BiRnnLayer<B>>,
}

impl<B: Backend> BiRnn<B> {
    pub fn new(
        rng: &mut ChaCha8Rng,
        d_in: usize,
        hidden: usize,
        n_layers: usize,
        lstm: bool,
        device: &B::Device,
    ) -> Self {
        let layers = (0..n_layers)
            .map(|i| {
                BiRnnLayer::new(rng, if i == 0 { d_in } else { 2 * hidden }, hidden, lstm, device)
            })
            .collect();
        BiRnn { layers }
    }
}

impl<B: GruBackend> BiRnn<B> {
    pub fn forward(&self, mut x: Tensor<B, 3>, rev: &Tensor<B, 1, Int>) -> Tensor<B, 3> {
        for layer in &self.layers {
            x = layer.forward(x, rev);
        }
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use burn::backend::Autodiff;
    use burn::tensor::TensorData;

    type A = Autodiff<Cpu>;

    /// The step slices come out in order, and the gradient through them equals the gradient
    /// through narrowing each step from the whole tensor.
    #[test]
    fn split_steps_gives_the_steps_and_their_gradient() {
        let device = Default::default();
        let values: Vec<f32> = (0..7 * 2 * 3).map(|i| (i as f32 * 0.37).sin()).collect();
        let x = || {
            Tensor::<A, 3>::from_data(TensorData::new(values.clone(), [7, 2, 3]), &device)
                .require_grad()
        };
        let weights: Vec<f32> = (0..7).map(|t| t as f32 - 2.5).collect();
        let grad_of = |split: bool| -> (Vec<f32>, Vec<f32>) {
            let x = x();
            let steps: Vec<Tensor<A, 3>> = if split {
                let mut v = Vec::new();
                split_steps(x.clone(), &mut v);
                v
            } else {
                (0..7).map(|t| x.clone().narrow(0, t, 1)).collect()
            };
            assert_eq!(steps.len(), 7);
            let firsts: Vec<f32> =
                steps.iter().map(|s| s.clone().into_data().to_vec::<f32>().unwrap()[0]).collect();
            let loss = steps
                .into_iter()
                .zip(&weights)
                .map(|(s, &w)| (s.powf_scalar(2.0) * w).sum())
                .reduce(|a, b| a + b)
                .unwrap();
            let grads = loss.backward();
            let g = x.grad(&grads).unwrap().into_data().to_vec::<f32>().unwrap();
            (firsts, g)
        };
        let (firsts, g_split) = grad_of(true);
        assert_eq!(firsts, (0..7).map(|t| values[t * 6]).collect::<Vec<_>>());
        let (_, g_narrow) = grad_of(false);
        assert_eq!(g_split, g_narrow);
        // d/dx of w_t · x² is 2 w_t x.
        assert_eq!(g_split[6 * 6 + 1], 2.0 * weights[6] * values[6 * 6 + 1]);
    }
}
