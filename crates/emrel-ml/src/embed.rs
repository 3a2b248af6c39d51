//! Character-embedding pretraining (`emrel embed`) and reading pretrained vectors.
//!
//! The paper initialises the character embedding with word2vec vectors trained on all the medical
//! record text. [`pretrain_char_embeddings`] does that in Burn, so it runs on the same backends as
//! the models: skip-gram with negative sampling (a dynamic window of up to `window` characters
//! each side, `negatives` noise characters drawn from the unigram distribution raised to 0.75,
//! frequent characters subsampled as word2vec does), written out in word2vec text format.
//! [`load_char_vectors`] reads that format with the `finalfusion` crate.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::Instant;

use burn::backend::Autodiff;
use burn::module::{Module, Param};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::log_sigmoid;
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use emrel_core::model::ModelError;
use finalfusion::compat::text::ReadTextDims;
use finalfusion::embeddings::Embeddings;
use finalfusion::storage::NdArray;
use finalfusion::vocab::{SimpleVocab, Vocab as _};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{BackendJob, ComputeDevice, MlBackend};
use crate::layers::{uniform, zeros};
use crate::train::io_err;

/// Pretrained character vectors.
#[derive(Debug, Clone)]
pub struct CharVectors {
    pub dims: usize,
    vectors: HashMap<String, Vec<f32>>,
}

impl CharVectors {
    /// The vector of `token`, if present.
    pub fn get(&self, token: &str) -> Option<&[f32]> {
        self.vectors.get(token).map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }
}

/// Reads vectors in word2vec text format (a `count dims` header, then `token v1 … vdims` lines).
pub fn load_char_vectors(path: &Path) -> Result<CharVectors, ModelError> {
    let file = std::fs::File::open(path).map_err(|e| io_err(path, e))?;
    let embeds: Embeddings<SimpleVocab, NdArray> =
        Embeddings::read_text_dims(&mut BufReader::new(file)).map_err(|e| io_err(path, e))?;
    let dims = embeds.dims();
    let mut vectors = HashMap::with_capacity(embeds.vocab().words_len());
    for word in embeds.vocab().words() {
        if let Some(e) = embeds.embedding_with_norm(word) {
            vectors.insert(word.clone(), e.into_unnormalized().to_vec());
        }
    }
    if dims == 0 {
        return Err(ModelError::Invalid(format!("{}: vectors have no dimensions", path.display())));
    }
    Ok(CharVectors { dims, vectors })
}

/// Settings of skip-gram pretraining.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedOptions {
    pub dim: usize,
    /// Largest distance of a context character (word2vec's dynamic window samples 1..=window).
    pub window: usize,
    /// Noise characters per (character, context) pair.
    pub negatives: usize,
    pub epochs: usize,
    pub seed: u64,
    /// Pairs per optimisation step.
    pub batch_size: usize,
    pub lr: f64,
    /// Subsampling threshold of frequent characters (word2vec's `-sample`; 0 disables it).
    pub subsample: f64,
}

impl Default for EmbedOptions {
    fn default() -> Self {
        EmbedOptions {
            dim: 128,
            window: 5,
            negatives: 5,
            epochs: 5,
            seed: 1,
            batch_size: 2048,
            lr: 0.005,
            subsample: 1e-3,
        }
    }
}

/// What pretraining did.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbedReport {
    /// Characters written.
    pub vocab: usize,
    pub dims: usize,
    /// (character, context) pairs trained on over all epochs.
    pub pairs: usize,
    /// Mean loss of the last epoch.
    pub final_loss: f64,
    pub seconds: f64,
}

/// Pretrains character vectors on the CPU and writes them to `out` in word2vec text format.
pub fn pretrain_char_embeddings(
    corpus: &[String],
    dim: usize,
    window: usize,
    negatives: usize,
    epochs: usize,
    seed: u64,
    out: &Path,
) -> Result<EmbedReport, ModelError> {
    let opts = EmbedOptions { dim, window, negatives, epochs, seed, ..EmbedOptions::default() };
    pretrain_char_embeddings_on(&ComputeDevice::Cpu, corpus, &opts, out)
}

/// Pretrains character vectors on `device` and writes them to `out` in word2vec text format.
pub fn pretrain_char_embeddings_on(
    device: &ComputeDevice,
    corpus: &[String],
    opts: &EmbedOptions,
    out: &Path,
) -> Result<EmbedReport, ModelError> {
    if opts.dim == 0 || opts.window == 0 || opts.batch_size == 0 {
        return Err(ModelError::Invalid(
            "embedding dimension, window and batch size must be positive".into(),
        ));
    }
    device.dispatch(EmbedJob { corpus, opts, out })
}

struct EmbedJob<'a> {
    corpus: &'a [String],
    opts: &'a EmbedOptions,
    out: &'a Path,
}

impl BackendJob for EmbedJob<'_> {
    type Output = Result<EmbedReport, ModelError>;
    fn run<B: MlBackend>(self, device: &B::Device) -> Self::Output {
        pretrain_on::<B>(device, self.corpus, self.opts, self.out)
    }
}

#[derive(Module, Debug)]
struct SkipGram<B: Backend> {
    input: Param<Tensor<B, 2>>,
    output: Param<Tensor<B, 2>>,
}

impl<B: Backend> SkipGram<B> {
    /// Mean negative-sampling loss of a batch.
    fn loss(
        &self,
        centers: Tensor<B, 1, Int>,
        contexts: Tensor<B, 1, Int>,
        noise: Tensor<B, 1, Int>,
        k: usize,
    ) -> Tensor<B, 1> {
        let p = centers.dims()[0];
        let d = self.input.dims()[1];
        let c = self.input.val().select(0, centers);
        let o = self.output.val().select(0, contexts);
        let n = self.output.val().select(0, noise).reshape([p, k, d]);
        let pos = (c.clone() * o).sum_dim(1);
        let neg = n.matmul(c.unsqueeze_dim(2));
        (log_sigmoid(pos).sum() + log_sigmoid(neg.neg()).sum()).neg() / p as f64
    }
}

fn pretrain_on<B: MlBackend>(
    device: &B::Device,
    corpus: &[String],
    opts: &EmbedOptions,
    out: &Path,
) -> Result<EmbedReport, ModelError> {
    let started = Instant::now();
    // Vocabulary: every non-whitespace character, most frequent first.
    let mut counts: HashMap<char, usize> = HashMap::new();
    for s in corpus {
        for c in s.chars().filter(|c| !c.is_whitespace()) {
            *counts.entry(c).or_default() += 1;
        }
    }
    let mut chars: Vec<(char, usize)> = counts.into_iter().collect();
    chars.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    if chars.len() < 2 {
        return Err(ModelError::Invalid(
            "the corpus has fewer than two distinct characters".into(),
        ));
    }
    let index: HashMap<char, u32> =
        chars.iter().enumerate().map(|(i, &(c, _))| (c, i as u32)).collect();
    let total: usize = chars.iter().map(|c| c.1).sum();
    let sentences: Vec<Vec<u32>> = corpus
        .iter()
        .map(|s| s.chars().filter(|c| !c.is_whitespace()).map(|c| index[&c]).collect())
        .collect();
    // Noise distribution: unigram^0.75, sampled by binary search over its cumulative sum.
    let mut cumulative = Vec::with_capacity(chars.len());
    let mut acc = 0.0f64;
    for &(_, n) in &chars {
        acc += (n as f64).powf(0.75);
        cumulative.push(acc);
    }
    let keep_prob: Vec<f64> = chars
        .iter()
        .map(|&(_, n)| {
            if opts.subsample <= 0.0 {
                return 1.0;
            }
            let f = n as f64 / total as f64;
            (((f / opts.subsample).sqrt() + 1.0) * opts.subsample / f).min(1.0)
        })
        .collect();

    let v = chars.len();
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut model = SkipGram::<Autodiff<B>> {
        input: uniform(&mut rng, [v, opts.dim], 0.5 / opts.dim as f32, device),
        output: zeros([v, opts.dim], device),
    };
    let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
    let k = opts.negatives.max(1);
    let mut total_pairs = 0;
    let mut final_loss = f64::NAN;
    for _ in 0..opts.epochs {
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        for s in &sentences {
            let kept: Vec<u32> =
                s.iter().copied().filter(|&c| rng.r#gen::<f64>() < keep_prob[c as usize]).collect();
            for (i, &c) in kept.iter().enumerate() {
                let r = rng.gen_range(1..=opts.window);
                let lo = i.saturating_sub(r);
                let hi = (i + r + 1).min(kept.len());
                pairs.extend(kept[lo..i].iter().chain(&kept[i + 1..hi]).map(|&o| (c, o)));
            }
        }
        pairs.shuffle(&mut rng);
        total_pairs += pairs.len();
        let (mut loss_sum, mut batches) = (0.0, 0usize);
        for batch in pairs.chunks(opts.batch_size) {
            let p = batch.len();
            let centers: Vec<i32> = batch.iter().map(|b| b.0 as i32).collect();
            let contexts: Vec<i32> = batch.iter().map(|b| b.1 as i32).collect();
            let noise: Vec<i32> = (0..p * k)
                .map(|_| {
                    let x = rng.r#gen::<f64>() * acc;
                    cumulative.partition_point(|&c| c <= x).min(v - 1) as i32
                })
                .collect();
            let t = |d: Vec<i32>, n: usize| {
                Tensor::<Autodiff<B>, 1, Int>::from_data(TensorData::new(d, [n]), device)
            };
            let loss = model.loss(t(centers, p), t(contexts, p), t(noise, p * k), k);
            loss_sum += loss.clone().into_scalar().elem::<f64>();
            batches += 1;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(opts.lr, model, grads);
        }
        if batches > 0 {
            final_loss = loss_sum / batches as f64;
        }
    }

    let weights: Vec<f32> =
        model.input.val().into_data().convert::<f32>().to_vec().expect("f32 tensor data");
    // Replaced atomically: a kill leaves the previous vectors, never half a file.
    crate::files::replace(out, |tmp| {
        let file = std::fs::File::create(tmp).map_err(|e| io_err(tmp, e))?;
        let mut w = BufWriter::new(file);
        let write_err = |e: std::io::Error| io_err(tmp, e);
        writeln!(w, "{v} {}", opts.dim).map_err(write_err)?;
        for (i, &(c, _)) in chars.iter().enumerate() {
            write!(w, "{c}").map_err(write_err)?;
            for x in &weights[i * opts.dim..(i + 1) * opts.dim] {
                write!(w, " {x:.6}").map_err(write_err)?;
            }
            writeln!(w).map_err(write_err)?;
        }
        w.flush().map_err(write_err)
    })?;
    Ok(EmbedReport {
        vocab: v,
        dims: opts.dim,
        pairs: total_pairs,
        final_loss,
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_word2vec_text_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("v.txt");
        std::fs::write(&p, "2 3\n肺 1 2 2\n癌 0 -3 4\n").unwrap();
        let v = load_char_vectors(&p).unwrap();
        assert_eq!(v.dims, 3);
        let a = v.get("肺").unwrap();
        assert!((a[0] - 1.0).abs() < 1e-5 && (a[2] - 2.0).abs() < 1e-5, "{a:?}");
        assert!((v.get("癌").unwrap()[1] + 3.0).abs() < 1e-5);
        assert!(v.get("x").is_none());
    }
}
