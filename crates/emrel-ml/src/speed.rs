//! Timing of training steps and scoring at fixed shapes, for `bench/run-speed` (which runs the
//! PyTorch reference of the same model in the same run and prints the ratios).
//!
//! Inputs are synthetic (random characters, entities at fixed places, every pair of the same
//! length) so that Burn and PyTorch do exactly the same work.

use std::time::Instant;

use burn::backend::Autodiff;
use burn::module::AutodiffModule;
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::tensor::activation::log_softmax;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use emrel_core::Span;
use emrel_core::model::ModelError;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::backend::{BackendJob, ComputeDevice, MlBackend};
use crate::batch::HostBatch;
use crate::encode::{EncodedPair, position_id, relative_position};
use crate::score::predict;
use crate::zoo::{Arch, ModelConfig};

/// What to time.
#[derive(Debug, Clone)]
pub struct SpeedConfig {
    pub arch: Arch,
    pub preset: String,
    pub batch_size: usize,
    pub length: usize,
    pub vocab_size: usize,
    pub n_classes: usize,
    pub warmup_steps: usize,
    pub train_steps: usize,
    pub score_pairs: usize,
    pub score_batch: usize,
}

/// Measured times.
#[derive(Debug, Clone)]
pub struct SpeedReport {
    /// Seconds per training step (forward, backward, Adam update), one per timed step.
    pub step_seconds: Vec<f64>,
    /// Pairs per second when scoring `score_pairs` pairs.
    pub score_pairs_per_second: f64,
    pub parameters: usize,
}

impl SpeedReport {
    /// Median seconds per training step.
    pub fn median_step(&self) -> f64 {
        let mut s = self.step_seconds.clone();
        s.sort_by(f64::total_cmp);
        s.get(s.len() / 2).copied().unwrap_or(f64::NAN)
    }
}

/// Times training steps and scoring on `device`.
pub fn measure(device: &ComputeDevice, cfg: &SpeedConfig) -> Result<SpeedReport, ModelError> {
    device.dispatch(SpeedJob { cfg })
}

struct SpeedJob<'a> {
    cfg: &'a SpeedConfig,
}

fn synthetic(
    n: usize,
    cfg: &SpeedConfig,
    max_pos: usize,
    rng: &mut ChaCha8Rng,
) -> Vec<EncodedPair> {
    let l = cfg.length;
    let head = Span::new(l / 5, l / 5 + 3);
    let tail = Span::new(l / 2, l / 2 + 4);
    (0..n)
        .map(|_| EncodedPair {
            chars: (0..l).map(|_| rng.gen_range(2..cfg.vocab_size as u32)).collect(),
            head_pos: (0..l).map(|i| position_id(relative_position(i, head), max_pos)).collect(),
            tail_pos: (0..l).map(|i| position_id(relative_position(i, tail), max_pos)).collect(),
            head,
            tail,
        })
        .collect()
}

impl BackendJob for SpeedJob<'_> {
    type Output = Result<SpeedReport, ModelError>;
    fn run<B: MlBackend>(self, device: &B::Device) -> Self::Output {
        let cfg = self.cfg;
        let mut mc = ModelConfig::preset(&cfg.preset, cfg.arch)?;
        mc.vocab_size = cfg.vocab_size;
        mc.n_classes = cfg.n_classes;
        mc.max_len = cfg.length;
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut model = mc.init::<Autodiff<B>>(1, None, device)?;
        let parameters = burn::module::Module::num_params(&model);
        let mut optim = AdamConfig::new().with_epsilon(1e-8).init();
        let pairs = synthetic(cfg.batch_size, cfg, mc.max_pos, &mut rng);
        let refs: Vec<&EncodedPair> = pairs.iter().collect();
        let host = HostBatch::new(&refs);
        let labels: Vec<i32> =
            (0..cfg.batch_size).map(|_| rng.gen_range(0..cfg.n_classes as i32)).collect();
        let mut step_seconds = Vec::new();
        for step in 0..cfg.warmup_steps + cfg.train_steps {
            let t0 = Instant::now();
            let tb = host.to_device::<Autodiff<B>>(device);
            let y = Tensor::<Autodiff<B>, 2, Int>::from_data(
                TensorData::new(labels.clone(), [cfg.batch_size, 1]),
                device,
            );
            let (_, logits) = model.forward(&tb, Some(&mut rng));
            let loss = log_softmax(logits, 1).gather(1, y).mean().neg();
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(mc.lr, model, grads);
            // Wait for the device: read one value of the updated weights.
            let _: f32 = model.out_bias_sum().into_scalar().elem();
            if step >= cfg.warmup_steps {
                step_seconds.push(t0.elapsed().as_secs_f64());
            }
        }
        let valid = model.valid();
        let score_pairs = synthetic(cfg.score_pairs, cfg, mc.max_pos, &mut rng);
        let warm = predict(
            &valid,
            &score_pairs[..cfg.score_batch.min(score_pairs.len())],
            cfg.score_batch,
            device,
        );
        assert!(!warm.is_empty());
        let t0 = Instant::now();
        let probs = predict(&valid, &score_pairs, cfg.score_batch, device);
        let secs = t0.elapsed().as_secs_f64();
        assert_eq!(probs.len(), cfg.score_pairs);
        Ok(SpeedReport {
            step_seconds,
            score_pairs_per_second: cfg.score_pairs as f64 / secs,
            parameters,
        })
    }
}
