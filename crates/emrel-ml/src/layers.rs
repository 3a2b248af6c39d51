//! Building blocks shared by the model zoo: dense and channels-last convolution layers, attention
//! and max pooling over the unpadded positions, and dropout.
//!
//! Parameters are initialised on the host from a seeded ChaCha generator and dropout masks are
//! drawn there too, so a run is reproducible on every backend and does not depend on a backend's
//! global random state. Convolution is written as unfold (k shifted slices concatenated) followed
//! by one matmul in `[batch, length, channels]` layout: every backend's fastest op is matmul, and
//! its backward is two more matmuls.

use burn::module::{Module, Param};
use burn::tensor::activation::softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::gru::{GruBackend, fast_tanh, seq_unfold};

/// A parameter drawn from U(-bound, bound).
pub(crate) fn uniform<B: Backend, const D: usize>(
    rng: &mut ChaCha8Rng,
    shape: [usize; D],
    bound: f32,
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    let n: usize = shape.iter().product();
    let data: Vec<f32> = (0..n).map(|_| rng.gen_range(-bound..=bound)).collect();
    Param::from_tensor(Tensor::from_data(TensorData::new(data, shape), device))
}

/// A parameter filled with zeros.
pub(crate) fn zeros<B: Backend, const D: usize>(
    shape: [usize; D],
    device: &B::Device,
) -> Param<Tensor<B, D>> {
    Param::from_tensor(Tensor::zeros(shape, device))
}

/// Inverted dropout with a host-drawn mask; the identity when `rng` is `None` or `p == 0`.
pub(crate) fn dropout<B: Backend, const D: usize>(
    x: Tensor<B, D>,
    p: f64,
    rng: Option<&mut ChaCha8Rng>,
) -> Tensor<B, D> {
    let Some(rng) = rng else { return x };
    if p <= 0.0 {
        return x;
    }
    let shape = x.shape();
    let keep = 1.0 - p;
    let scale = (1.0 / keep) as f32;
    let n = shape.num_elements();
    let mask: Vec<f32> =
        (0..n).map(|_| if rng.r#gen::<f64>() < keep { scale } else { 0.0 }).collect();
    let mask = Tensor::<B, D>::from_data(TensorData::new(mask, shape), &x.device());
    x * mask
}

/// `y = x W + b` on the last dimension.
#[derive(Module, Debug)]
pub(crate) struct Dense<B: Backend> {
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Param<Tensor<B, 1>>,
}

impl<B: Backend> Dense<B> {
    pub fn new(rng: &mut ChaCha8Rng, d_in: usize, d_out: usize, device: &B::Device) -> Self {
        let bound = 1.0 / (d_in as f32).sqrt();
        Dense {
            weight: uniform(rng, [d_in, d_out], bound, device),
            bias: uniform(rng, [d_out], bound, device),
        }
    }

    pub fn forward(&self, x: Tensor<B, 2>) -> Tensor<B, 2> {
        x.matmul(self.weight.val()) + self.bias.val().unsqueeze_dim(0)
    }
}

/// 1-D convolution with "same" padding over `[batch, length, channels]`, as unfold + matmul.
#[derive(Module, Debug)]
pub(crate) struct Conv<B: Backend> {
    /// `[kernel * c_in, c_out]`, rows ordered (offset, input channel).
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Param<Tensor<B, 1>>,
    pub kernel: usize,
}

impl<B: Backend> Conv<B> {
    pub fn new(
        rng: &mut ChaCha8Rng,
        c_in: usize,
        c_out: usize,
        kernel: usize,
        device: &B::Device,
    ) -> Self {
        let bound = 1.0 / ((c_in * kernel) as f32).sqrt();
        Conv {
            weight: uniform(rng, [kernel * c_in, c_out], bound, device),
            bias: uniform(rng, [c_out], bound, device),
            kernel,
        }
    }

    /// `x`: `[b, l, c_in]` with zeros at padding → `[b, l, c_out]`.
    pub fn forward(&self, x: Tensor<B, 3>) -> Tensor<B, 3>
    where
        B: GruBackend,
    {
        let [b, l, c] = x.dims();
        let cols =
            if self.kernel == 1 { x.reshape([b * l, c]) } else { seq_unfold(x, self.kernel) };
        let y = cols.matmul(self.weight.val()) + self.bias.val().unsqueeze_dim(0);
        y.reshape([b, l, self.weight.dims()[1]])
    }
}

/// Attention pooling, a = softmax(w·tanh(H) + b) over the unpadded positions, S = Σ a_i H_i.
#[derive(Module, Debug)]
pub(crate) struct Attention<B: Backend> {
    pub w: Param<Tensor<B, 2>>,
    pub b: Param<Tensor<B, 1>>,
}

impl<B: Backend> Attention<B> {
    pub fn new(rng: &mut ChaCha8Rng, dim: usize, device: &B::Device) -> Self {
        let bound = 1.0 / (dim as f32).sqrt();
        Attention { w: uniform(rng, [dim, 1], bound, device), b: zeros([1], device) }
    }
}

impl<B: GruBackend> Attention<B> {
    /// `h`: `[b, l, c]`, `pad`: `[b, l]` true at padding → `[b, c]`.
    pub fn forward(&self, h: Tensor<B, 3>, pad: Tensor<B, 2, burn::tensor::Bool>) -> Tensor<B, 2> {
        let [b, l, c] = h.dims();
        let scores = fast_tanh(h.clone()).reshape([b * l, c]).matmul(self.w.val()).reshape([b, l])
            + self.b.val().unsqueeze_dim(0);
        let a = softmax(scores.mask_fill(pad, -1.0e9), 1);
        a.unsqueeze_dim::<3>(1).matmul(h).reshape([b, c])
    }
}

/// Max over the positions where `mask` (`[b, l, 1]`) is 1; 0 where the mask is empty.
pub(crate) fn masked_max<B: Backend>(h: Tensor<B, 3>, mask: Tensor<B, 3>) -> Tensor<B, 2> {
    let [b, _, c] = h.dims();
    let any = mask.clone().max_dim(1); // [b, 1, 1]
    let neg = (mask - 1.0) * 1.0e9;
    ((h + neg).max_dim(1) * any).reshape([b, c])
}
