//! Batches: padding encoded pairs to a common length and turning them into tensors.
//!
//! Batches are padded to their own longest pair; callers sort by length first (bucketing) so that
//! little padding is computed. Besides ids, a batch carries the padding mask, the per-sequence
//! reversal index the backward RNN direction uses (so it never reads padding first), and the three
//! PCNN segment masks.

use burn::tensor::backend::Backend;
use burn::tensor::{Bool, Int, Tensor, TensorData};

use crate::encode::EncodedPair;

/// A padded batch on the host.
#[derive(Debug, Clone)]
pub(crate) struct HostBatch {
    pub b: usize,
    pub l: usize,
    pub chars: Vec<i32>,
    pub head_pos: Vec<i32>,
    pub tail_pos: Vec<i32>,
    /// 1 for real characters, 0 for padding; `[b, l]`.
    pub mask: Vec<f32>,
    /// Row index into a flattened `[b * l]` sequence that reverses each sequence within its
    /// length and leaves padding in place.
    pub rev: Vec<i32>,
    /// PCNN segments (before the end of the first entity, up to the end of the second, the rest).
    pub segments: [Vec<f32>; 3],
}

impl HostBatch {
    pub fn new(pairs: &[&EncodedPair]) -> HostBatch {
        let b = pairs.len();
        let l = pairs.iter().map(|p| p.len()).max().unwrap_or(1).max(1);
        let mut hb = HostBatch {
            b,
            l,
            chars: vec![0; b * l],
            head_pos: vec![0; b * l],
            tail_pos: vec![0; b * l],
            mask: vec![0.0; b * l],
            rev: (0..(b * l) as i32).collect(),
            segments: [vec![0.0; b * l], vec![0.0; b * l], vec![0.0; b * l]],
        };
        for (i, p) in pairs.iter().enumerate() {
            let n = p.len();
            let cut1 = p.head.end.min(p.tail.end);
            let cut2 = p.head.end.max(p.tail.end);
            for t in 0..n {
                let k = i * l + t;
                hb.chars[k] = p.chars[t] as i32;
                hb.head_pos[k] = p.head_pos[t] as i32;
                hb.tail_pos[k] = p.tail_pos[t] as i32;
                hb.mask[k] = 1.0;
                hb.rev[k] = (i * l + n - 1 - t) as i32;
                let seg = if t < cut1 {
                    0
                } else if t < cut2 {
                    1
                } else {
                    2
                };
                hb.segments[seg][k] = 1.0;
            }
        }
        hb
    }

    pub fn to_device<B: Backend>(&self, device: &B::Device) -> TensorBatch<B> {
        let (b, l) = (self.b, self.l);
        let int2 = |v: &Vec<i32>| {
            Tensor::<B, 2, Int>::from_data(TensorData::new(v.clone(), [b, l]), device)
        };
        let mask = Tensor::<B, 3>::from_data(TensorData::new(self.mask.clone(), [b, l, 1]), device);
        let seg =
            |v: &Vec<f32>| Tensor::<B, 3>::from_data(TensorData::new(v.clone(), [b, l, 1]), device);
        TensorBatch {
            chars: int2(&self.chars),
            head_pos: int2(&self.head_pos),
            tail_pos: int2(&self.tail_pos),
            pad: mask.clone().reshape([b, l]).lower_elem(0.5),
            mask,
            rev: Tensor::from_data(TensorData::new(self.rev.clone(), [b * l]), device),
            segments: [seg(&self.segments[0]), seg(&self.segments[1]), seg(&self.segments[2])],
        }
    }
}

/// A batch on a device.
#[derive(Debug, Clone)]
pub(crate) struct TensorBatch<B: Backend> {
    pub chars: Tensor<B, 2, Int>,
    pub head_pos: Tensor<B, 2, Int>,
    pub tail_pos: Tensor<B, 2, Int>,
    /// `[b, l, 1]`, 1 for real characters.
    pub mask: Tensor<B, 3>,
    /// `[b, l]`, true at padding.
    pub pad: Tensor<B, 2, Bool>,
    /// `[b * l]`, see [`HostBatch::rev`].
    pub rev: Tensor<B, 1, Int>,
    /// `[b, l, 1]` each.
    pub segments: [Tensor<B, 3>; 3],
}

/// Indices `0..n` ordered by encoded length (stable), for bucketing.
pub(crate) fn by_length(pairs: &[EncodedPair]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by_key(|&i| pairs[i].len());
    order
}
