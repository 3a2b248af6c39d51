//! The trainer: [`BurnTrainer`] implements [`emrel_core::model::Trainer`].
//!
//! A run is seeded and reproducible: weights, the dev split, batch order and dropout masks all come
//! from ChaCha generators derived from the request's seed. Part of the training data (10% by
//! default) is held out as the dev part; after every epoch the micro F1 over the relations (none
//! left out, [`emrel_core::metrics::evaluate`]) on it decides early stopping and which weights are
//! kept. The output directory holds `model.bin` (best weights), `config.json`, `vocab.json` and
//! `meta.json` (classes, model, dev F1); while training, `checkpoint/` holds the last epoch's
//! weights, optimizer state and counters, so a cancelled or crashed run resumes where it stopped.
//! Every file is replaced atomically (see [`crate::files`]); a checkpoint's weights and optimizer
//! state are named after the epoch they end and `state.json`, written last, says which epoch is
//! the checkpoint, so a kill between the files never pairs one epoch's weights with another's
//! counters.

use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::backend::Autodiff;
use burn::config::Config;
use burn::module::{AutodiffModule, Module};
use burn::optim::{AdamConfig, GradientsParams, Optimizer};
use burn::record::{BinFileRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::activation::log_softmax;
use burn::tensor::backend::Backend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use emrel_core::metrics::evaluate;
use emrel_core::model::{
    CancelToken, ModelError, Scorer, TrainOutcome, TrainProgress, TrainRequest, Trainer,
};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::backend::{BackendJob, ComputeDevice, MlBackend};
use crate::batch::HostBatch;
use crate::embed::load_char_vectors;
use crate::encode::{EncodedPair, Vocab, encode_pair};
use crate::score::{BurnScorer, predict};
use crate::zoo::{Arch, ModelConfig, RelationModel};

pub(crate) const MODEL_FILE: &str = "model";
pub(crate) const CONFIG_FILE: &str = "config.json";
pub(crate) const VOCAB_FILE: &str = "vocab.json";
pub(crate) const META_FILE: &str = "meta.json";
const CHECKPOINT_DIR: &str = "checkpoint";

pub(crate) type Rec = BinFileRecorder<FullPrecisionSettings>;

/// What `meta.json` records about a model version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMeta {
    pub format: u32,
    pub model: String,
    pub preset: String,
    pub classes: Vec<String>,
    pub seed: u64,
    pub epochs_run: usize,
    pub best_dev_f1: f64,
    /// False while training runs (or after it was cancelled).
    pub complete: bool,
}

impl ModelMeta {
    pub(crate) fn load(dir: &Path) -> Result<ModelMeta, ModelError> {
        let path = dir.join(META_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io_err(&path, e))?;
        serde_json::from_str(&text).map_err(|e| ModelError::Io(format!("{}: {e}", path.display())))
    }

    fn save(&self, dir: &Path) -> Result<(), ModelError> {
        let path = dir.join(META_FILE);
        let json = serde_json::to_string_pretty(self).map_err(|e| ModelError::Io(e.to_string()))?;
        crate::files::write(&path, json)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TrainState {
    next_epoch: usize,
    best_dev_f1: f64,
    /// Mean negative log-likelihood on the dev part of the kept weights (breaks F1 ties).
    #[serde(default = "worst_loss")]
    best_dev_loss: f64,
    epochs_since_best: usize,
    seconds: f64,
}

fn worst_loss() -> f64 {
    f64::INFINITY
}

pub(crate) fn io_err(path: &Path, e: impl std::fmt::Display) -> ModelError {
    ModelError::Io(format!("{}: {e}", path.display()))
}

/// Trains and loads the zoo's models on one device.
#[derive(Debug, Clone, Default)]
pub struct BurnTrainer {
    device: ComputeDevice,
    class_weighting: Option<bool>,
}

impl BurnTrainer {
    /// A trainer on `device` (see [`crate::select_device`]).
    pub fn new(device: ComputeDevice) -> BurnTrainer {
        BurnTrainer { device, class_weighting: None }
    }

    /// Overrides the preset's class weighting (inverse class frequency in the loss).
    pub fn with_class_weighting(mut self, on: bool) -> BurnTrainer {
        self.class_weighting = Some(on);
        self
    }

    pub fn device(&self) -> &ComputeDevice {
        &self.device
    }
}

impl Trainer for BurnTrainer {
    fn device_name(&self) -> String {
        self.device.name()
    }

    fn train(
        &self,
        request: &TrainRequest,
        progress: &mut dyn FnMut(&TrainProgress),
        cancel: &CancelToken,
    ) -> Result<TrainOutcome, ModelError> {
        self.device.dispatch(TrainJob {
            class_weighting: self.class_weighting,
            request,
            progress,
            cancel,
        })
    }

    fn load(&self, dir: &Path) -> Result<Box<dyn Scorer>, ModelError> {
        self.device.dispatch(LoadJob { dir })
    }
}

struct LoadJob<'a> {
    dir: &'a Path,
}

impl BackendJob for LoadJob<'_> {
    type Output = Result<Box<dyn Scorer>, ModelError>;
    fn run<B: MlBackend>(self, device: &B::Device) -> Self::Output {
        Ok(Box::new(BurnScorer::<B>::load(self.dir, device)?))
    }
}

struct TrainJob<'a> {
    class_weighting: Option<bool>,
    request: &'a TrainRequest,
    progress: &'a mut dyn FnMut(&TrainProgress),
    cancel: &'a CancelToken,
}

impl BackendJob for TrainJob<'_> {
    type Output = Result<TrainOutcome, ModelError>;
    fn run<B: MlBackend>(self, device: &B::Device) -> Self::Output {
        train_on::<B>(device, self.class_weighting, self.request, self.progress, self.cancel)
    }
}

/// A seed for one purpose of one run (ChaCha streams from distinct 64-bit seeds are independent).
fn derive_seed(seed: u64, purpose: u64, a: u64, b: u64) -> u64 {
    let mut x = seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for v in [a, b] {
        x = (x ^ v).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        x ^= x >> 31;
    }
    x
}

/// Pretrained vectors per vocabulary id (`None` where a character has none).
type VectorRows = Vec<Option<Vec<f32>>>;

fn prepare_new(
    request: &TrainRequest,
    arch: Arch,
    class_weighting: Option<bool>,
) -> Result<(ModelConfig, Vocab, Option<VectorRows>), ModelError> {
    let mut config = ModelConfig::preset(&request.preset, arch)?;
    if let Some(e) = request.epochs {
        // Epochs asked for explicitly are what runs.
        config.epochs = e;
        config.min_steps = 0;
    }
    if let Some(w) = class_weighting {
        // Asked for explicitly: on or off whatever the set's size.
        config.class_weighting = w;
        config.class_weighting_below = 0;
    }
    let mut texts: Vec<&str> = request.corpus.iter().map(String::as_str).collect();
    texts.extend(request.train.iter().map(|e| e.pair.text.as_str()));
    let vocab = Vocab::build(&texts, config.min_char_freq);
    let rows = match &request.char_vectors {
        None => None,
        Some(path) => {
            let vectors = load_char_vectors(path)?;
            config.char_dim = vectors.dims;
            Some(vocab.tokens().iter().map(|t| vectors.get(t).map(<[f32]>::to_vec)).collect())
        }
    };
    config.vocab_size = vocab.len();
    config.n_classes = request.classes.len();
    config.validate()?;
    Ok((config, vocab, rows))
}

fn train_on<B: MlBackend>(
    device: &B::Device,
    class_weighting: Option<bool>,
    request: &TrainRequest,
    progress: &mut dyn FnMut(&TrainProgress),
    cancel: &CancelToken,
) -> Result<TrainOutcome, ModelError> {
    let started = Instant::now();
    let arch: Arch = request.model.parse()?;
    let n_classes = request.classes.len();
    if n_classes < 2 {
        return Err(ModelError::Invalid("training needs at least two classes".into()));
    }
    if request.train.is_empty() {
        return Err(ModelError::Invalid("no training examples".into()));
    }
    if let Some(e) = request.train.iter().find(|e| e.class >= n_classes) {
        return Err(ModelError::Invalid(format!(
            "example class {} is not among {n_classes} classes",
            e.class
        )));
    }
    let none_class = request.classes.iter().position(|c| c == emrel_core::NONE).unwrap_or(0);
    let out = request.out_dir.as_path();
    let ckpt = out.join(CHECKPOINT_DIR);
    std::fs::create_dir_all(&ckpt).map_err(|e| io_err(&ckpt, e))?;
    let resume = ckpt.join("state.json").exists();

    let (config, vocab, vector_rows) = if resume {
        let meta = ModelMeta::load(out)?;
        if meta.model != request.model
            || meta.classes != request.classes
            || meta.seed != request.seed
        {
            return Err(ModelError::Invalid(format!(
                "{} holds a checkpoint of another run (model, classes or seed differ); remove it to start afresh",
                out.display()
            )));
        }
        let cpath = out.join(CONFIG_FILE);
        let config = ModelConfig::load(&cpath).map_err(|e| io_err(&cpath, e))?;
        (config, Vocab::load(&out.join(VOCAB_FILE))?, None)
    } else {
        let (config, vocab, rows) = prepare_new(request, arch, class_weighting)?;
        let cpath = out.join(CONFIG_FILE);
        crate::files::replace(&cpath, |tmp| config.save(tmp).map_err(|e| io_err(tmp, e)))?;
        vocab.save(&out.join(VOCAB_FILE))?;
        (config, vocab, rows)
    };
    let mut meta = ModelMeta {
        format: 1,
        model: arch.name().to_string(),
        preset: config.preset.clone(),
        classes: request.classes.clone(),
        seed: request.seed,
        epochs_run: 0,
        best_dev_f1: 0.0,
        complete: false,
    };
    meta.save(out)?;

    let enc = config.encode_config();
    let encoded: Vec<EncodedPair> = request
        .train
        .iter()
        .map(|e| encode_pair(&vocab, &enc, &e.pair))
        .collect::<Result<_, _>>()?;
    let labels: Vec<usize> = request.train.iter().map(|e| e.class).collect();

    // Dev split.
    let n = encoded.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(derive_seed(request.seed, 1, 0, 0)));
    let n_dev = if n >= 10 {
        ((n as f64 * config.dev_fraction).round() as usize).clamp(1, n - 1)
    } else {
        0
    };
    let (dev_idx, train_idx) = order.split_at(n_dev);
    // With too few examples for a dev part, stopping is judged on the training data itself.
    let dev_idx: Vec<usize> =
        if dev_idx.is_empty() { train_idx.to_vec() } else { dev_idx.to_vec() };
    let dev_pairs: Vec<EncodedPair> = dev_idx.iter().map(|&i| encoded[i].clone()).collect();
    let dev_gold: Vec<usize> = dev_idx.iter().map(|&i| labels[i]).collect();

    let class_weight: Vec<f32> =
        if config.class_weighting || train_idx.len() < config.class_weighting_below {
            let mut counts = vec![0usize; n_classes];
            for &i in train_idx {
                counts[labels[i]] += 1;
            }
            let present = counts.iter().filter(|&&c| c > 0).count().max(1);
            counts
                .iter()
                .map(|&c| if c == 0 { 0.0 } else { train_idx.len() as f32 / (present * c) as f32 })
                .collect()
        } else {
            vec![1.0; n_classes]
        };

    let rec = Rec::new();
    let mut model: RelationModel<Autodiff<B>> =
        config.init(derive_seed(request.seed, 2, 0, 0), vector_rows.as_deref(), device)?;
    let mut optim = AdamConfig::new().with_epsilon(config.adam_epsilon as f32).init();
    let mut state = TrainState {
        next_epoch: 0,
        best_dev_f1: -1.0,
        best_dev_loss: worst_loss(),
        epochs_since_best: 0,
        seconds: 0.0,
    };
    if resume {
        let spath = ckpt.join("state.json");
        let text = std::fs::read_to_string(&spath).map_err(|e| io_err(&spath, e))?;
        state = serde_json::from_str(&text).map_err(|e| io_err(&spath, e))?;
        let (weights, optimizer) = checkpoint_files(&ckpt, state.next_epoch);
        model = model
            .load_file(&weights, &rec, device)
            .map_err(|e| io_err(&weights.with_extension("bin"), e))?;
        let record = Recorder::<Autodiff<B>>::load(&rec, optimizer.clone(), device)
            .map_err(|e| io_err(&optimizer.with_extension("bin"), e))?;
        optim = optim.load_record(record);
    }

    let bs = config.batch_size;
    let steps_per_epoch = train_idx.len().div_ceil(bs);
    // A small set gets more epochs: at least `min_steps` optimizer steps in all, and no early
    // stop before them.
    let min_epochs = config.min_steps.div_ceil(steps_per_epoch.max(1));
    let epochs = config.epochs.max(min_epochs);
    let mut epochs_run = state.next_epoch;
    for epoch in state.next_epoch..epochs {
        let batches =
            epoch_batches(train_idx, &encoded, bs, derive_seed(request.seed, 3, epoch as u64, 0));
        let mut loss_sum = 0.0;
        for (step, batch) in batches.iter().enumerate() {
            if cancel.is_cancelled() {
                return Err(ModelError::Cancelled);
            }
            let pairs: Vec<&EncodedPair> = batch.iter().map(|&i| &encoded[i]).collect();
            let tb = HostBatch::new(&pairs).to_device::<Autodiff<B>>(device);
            let y: Vec<i32> = batch.iter().map(|&i| labels[i] as i32).collect();
            let w: Vec<f32> = batch.iter().map(|&i| class_weight[labels[i]]).collect();
            let b = batch.len();
            let y = Tensor::<Autodiff<B>, 2, Int>::from_data(TensorData::new(y, [b, 1]), device);
            let w = Tensor::<Autodiff<B>, 2>::from_data(TensorData::new(w, [b, 1]), device);
            let mut rng =
                ChaCha8Rng::seed_from_u64(derive_seed(request.seed, 4, epoch as u64, step as u64));
            let (_, logits) = model.forward(&tb, Some(&mut rng));
            let loss = weighted_nll(logits, y, w);
            let loss_value: f64 = loss.clone().into_scalar().elem();
            if !loss_value.is_finite() {
                return Err(ModelError::Backend(format!(
                    "loss became {loss_value} at epoch {}",
                    epoch + 1
                )));
            }
            loss_sum += loss_value;
            let grads = GradientsParams::from_grads(loss.backward(), &model);
            model = optim.step(config.lr, model, grads);
            progress(&TrainProgress {
                epoch: epoch + 1,
                epochs,
                step: step + 1,
                steps_per_epoch,
                loss: loss_value,
                dev_f1: None,
            });
        }

        let valid = model.valid();
        let probs = predict(&valid, &dev_pairs, 256, device);
        let predicted: Vec<usize> = probs.iter().map(|p| argmax(p)).collect();
        let f1 = evaluate(&dev_gold, &predicted, n_classes, none_class).micro.f1;
        let dev_loss =
            probs.iter().zip(&dev_gold).map(|(p, &g)| -(p[g].max(1e-7) as f64).ln()).sum::<f64>()
                / dev_gold.len().max(1) as f64;
        // A small dev part ties often (the same F1 for several epochs): then the weights that
        // fit it better win.
        if f1 > state.best_dev_f1 || (f1 == state.best_dev_f1 && dev_loss < state.best_dev_loss) {
            state.best_dev_f1 = f1;
            state.best_dev_loss = dev_loss;
            state.epochs_since_best = 0;
            save_weights(&valid, &out.join(MODEL_FILE), &rec)?;
        } else {
            state.epochs_since_best += 1;
        }
        state.next_epoch = epoch + 1;
        epochs_run = epoch + 1;
        state.seconds += started.elapsed().as_secs_f64();
        save_checkpoint(&ckpt, &model, &optim, &state, &rec)?;
        meta.epochs_run = epochs_run;
        meta.best_dev_f1 = state.best_dev_f1;
        meta.save(out)?;
        progress(&TrainProgress {
            epoch: epoch + 1,
            epochs,
            step: steps_per_epoch,
            steps_per_epoch,
            // The epoch's mean training loss.
            loss: if batches.is_empty() { f64::NAN } else { loss_sum / batches.len() as f64 },
            dev_f1: Some(f1),
        });
        if state.epochs_since_best >= config.patience && epoch + 1 >= min_epochs {
            break;
        }
    }
    if state.best_dev_f1 < 0.0 {
        // Zero epochs were asked for: keep the initial weights so that the version loads.
        save_weights(&model.valid(), &out.join(MODEL_FILE), &rec)?;
        state.best_dev_f1 = 0.0;
    }
    meta.complete = true;
    meta.best_dev_f1 = state.best_dev_f1;
    meta.save(out)?;
    std::fs::remove_dir_all(&ckpt).map_err(|e| io_err(&ckpt, e))?;
    Ok(TrainOutcome {
        out_dir: out.to_path_buf(),
        epochs_run,
        best_dev_f1: state.best_dev_f1,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The weights and optimizer files (without Burn's `.bin`) of the checkpoint that ends before
/// epoch `next_epoch`. A checkpoint written before files were named after their epoch has them
/// as `last` and `optim`.
fn checkpoint_files(ckpt: &Path, next_epoch: usize) -> (PathBuf, PathBuf) {
    let (weights, optimizer) =
        (ckpt.join(format!("last-{next_epoch}")), ckpt.join(format!("optim-{next_epoch}")));
    if weights.with_extension("bin").exists() {
        (weights, optimizer)
    } else {
        (ckpt.join("last"), ckpt.join("optim"))
    }
}

/// Saves a model's weights to `path` (`.bin` added) atomically.
fn save_weights<B: Backend>(
    model: &RelationModel<B>,
    path: &Path,
    rec: &Rec,
) -> Result<(), ModelError> {
    let file = path.with_extension("bin");
    crate::files::replace(&file, |tmp| {
        model.clone().save_file(tmp.with_extension(""), rec).map_err(|e| io_err(tmp, e))
    })
}

fn save_checkpoint<B: Backend, O: Optimizer<RelationModel<Autodiff<B>>, Autodiff<B>>>(
    ckpt: &Path,
    model: &RelationModel<Autodiff<B>>,
    optim: &O,
    state: &TrainState,
    rec: &Rec,
) -> Result<(), ModelError> {
    let (weights, optimizer) = (
        ckpt.join(format!("last-{}", state.next_epoch)),
        ckpt.join(format!("optim-{}", state.next_epoch)),
    );
    save_weights(model, &weights, rec)?;
    let ofile = optimizer.with_extension("bin");
    crate::files::replace(&ofile, |tmp| {
        Recorder::<Autodiff<B>>::record(rec, optim.to_record(), tmp.with_extension(""))
            .map_err(|e| io_err(tmp, e))
    })?;
    // The commit point: from here on a resume reads this epoch's files.
    let spath: PathBuf = ckpt.join("state.json");
    let json = serde_json::to_string(state).map_err(|e| ModelError::Io(e.to_string()))?;
    crate::files::write(&spath, json)?;
    // Earlier epochs' files are garbage now.
    let keep = [weights.with_extension("bin"), ofile, spath];
    for entry in std::fs::read_dir(ckpt).map_err(|e| io_err(ckpt, e))? {
        let path = entry.map_err(|e| io_err(ckpt, e))?.path();
        if !keep.contains(&path) {
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        }
    }
    Ok(())
}

/// −Σ wᵢ log pᵢ(yᵢ) / Σ wᵢ (PyTorch's weighted cross-entropy).
fn weighted_nll<B: Backend>(
    logits: Tensor<B, 2>,
    y: Tensor<B, 2, Int>,
    w: Tensor<B, 2>,
) -> Tensor<B, 1> {
    let logp = log_softmax(logits, 1).gather(1, y);
    (logp * w.clone()).sum().neg() / w.sum()
}

pub(crate) fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

/// One epoch's batches: a seeded shuffle, then groups of 20 batches sorted by length (so that a
/// batch holds pairs of similar length), then the batches shuffled again.
fn epoch_batches(train: &[usize], pairs: &[EncodedPair], bs: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut idx = train.to_vec();
    idx.shuffle(&mut rng);
    let mut batches = Vec::new();
    for group in idx.chunks_mut(bs * 20) {
        group.sort_by_key(|&i| pairs[i].len());
        batches.extend(group.chunks(bs).map(<[usize]>::to_vec));
    }
    batches.shuffle(&mut rng);
    batches
}
