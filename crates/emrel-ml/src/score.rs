//! The scorer: a loaded model version, [`BurnScorer`], implements [`emrel_core::model::Scorer`].
//!
//! Pairs are encoded, sorted by length and run in batches (256 pairs by default), and the results
//! are put back in the caller's order: the full probability vector per pair (the engine needs
//! top-1, margin and entropy) or the pooled features the classifier reads (for drift statistics).

use std::path::Path;

use burn::config::Config;
use burn::module::Module;
use burn::tensor::Tensor;
use burn::tensor::activation::softmax;
use emrel_core::model::{ModelError, PairText, Scorer};

use crate::backend::MlBackend;
use crate::batch::{HostBatch, by_length};
use crate::encode::{EncodedPair, Vocab, encode_pair};
use crate::gru::GruBackend;
use crate::train::{CONFIG_FILE, MODEL_FILE, ModelMeta, Rec, VOCAB_FILE, io_err};
use crate::zoo::{ModelConfig, RelationModel};

/// Pairs per inference batch.
pub const SCORE_BATCH: usize = 256;

/// A model version loaded for scoring on one backend.
#[derive(Debug)]
pub struct BurnScorer<B: MlBackend> {
    model: RelationModel<B>,
    config: ModelConfig,
    vocab: Vocab,
    meta: ModelMeta,
    device: B::Device,
    batch_size: usize,
}

impl<B: MlBackend> BurnScorer<B> {
    /// Loads the version that training wrote to `dir`.
    pub fn load(dir: &Path, device: &B::Device) -> Result<Self, ModelError> {
        let meta = ModelMeta::load(dir)?;
        let cpath = dir.join(CONFIG_FILE);
        let config = ModelConfig::load(&cpath).map_err(|e| io_err(&cpath, e))?;
        let vocab = Vocab::load(&dir.join(VOCAB_FILE))?;
        if vocab.len() != config.vocab_size || meta.classes.len() != config.n_classes {
            return Err(ModelError::Invalid(format!(
                "{}: config, vocabulary and classes disagree",
                dir.display()
            )));
        }
        let model = config
            .init::<B>(0, None, device)?
            .load_file(dir.join(MODEL_FILE), &Rec::new(), device)
            .map_err(|e| io_err(&dir.join("model.bin"), e))?;
        Ok(BurnScorer {
            model,
            config,
            vocab,
            meta,
            device: device.clone(),
            batch_size: SCORE_BATCH,
        })
    }

    /// Sets the number of pairs per inference batch.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    pub fn meta(&self) -> &ModelMeta {
        &self.meta
    }

    fn encode(&self, pairs: &[PairText]) -> Result<Vec<EncodedPair>, ModelError> {
        let enc = self.config.encode_config();
        pairs.iter().map(|p| encode_pair(&self.vocab, &enc, p)).collect()
    }
}

impl<B: MlBackend> Scorer for BurnScorer<B> {
    fn classes(&self) -> &[String] {
        &self.meta.classes
    }

    fn score(&self, pairs: &[PairText]) -> Result<Vec<Vec<f32>>, ModelError> {
        let encoded = self.encode(pairs)?;
        Ok(predict(&self.model, &encoded, self.batch_size, &self.device))
    }

    fn features(&self, pairs: &[PairText]) -> Result<Vec<Vec<f32>>, ModelError> {
        let encoded = self.encode(pairs)?;
        Ok(run_sorted(&self.model, &encoded, self.batch_size, &self.device, false))
    }
}

/// Class probabilities for each pair, in the order given.
pub(crate) fn predict<B: GruBackend>(
    model: &RelationModel<B>,
    pairs: &[EncodedPair],
    batch_size: usize,
    device: &B::Device,
) -> Vec<Vec<f32>> {
    run_sorted(model, pairs, batch_size, device, true)
}

fn run_sorted<B: GruBackend>(
    model: &RelationModel<B>,
    pairs: &[EncodedPair],
    batch_size: usize,
    device: &B::Device,
    probabilities: bool,
) -> Vec<Vec<f32>> {
    run_batches(model, pairs, batch_size, device, probabilities, B::inference_workers())
}

/// Runs the pairs sorted by length in batches of `batch_size` on `workers` threads.
fn run_batches<B: GruBackend>(
    model: &RelationModel<B>,
    pairs: &[EncodedPair],
    batch_size: usize,
    device: &B::Device,
    probabilities: bool,
    workers: usize,
) -> Vec<Vec<f32>> {
    let order = by_length(pairs);
    let chunks: Vec<&[usize]> = order.chunks(batch_size.max(1)).collect();
    let run = |chunk: &[usize]| -> Vec<f32> {
        let batch: Vec<&EncodedPair> = chunk.iter().map(|&i| &pairs[i]).collect();
        let tb = HostBatch::new(&batch).to_device::<B>(device);
        let (features, logits) = model.forward(&tb, None);
        let t: Tensor<B, 2> = if probabilities { softmax(logits, 1) } else { features };
        t.into_data().convert::<f32>().to_vec().expect("f32 tensor data")
    };
    // Worker w runs batches w, w + n, w + 2n, …; each batch is computed exactly as it would be
    // alone, so the results do not depend on the number of workers.
    let workers = workers.min(chunks.len()).max(1);
    let results: Vec<Vec<f32>> = if workers == 1 {
        chunks.iter().map(|c| run(c)).collect()
    } else {
        let per_worker: Vec<Vec<Vec<f32>>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let (chunks, run) = (&chunks, &run);
                    s.spawn(move || {
                        chunks.iter().skip(w).step_by(workers).map(|c| run(c)).collect()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("scoring thread")).collect()
        });
        let mut iters: Vec<_> = per_worker.into_iter().map(Vec::into_iter).collect();
        (0..chunks.len()).map(|k| iters[k % workers].next().expect("batch result")).collect()
    };
    let mut out: Vec<Vec<f32>> = vec![Vec::new(); pairs.len()];
    for (chunk, values) in chunks.iter().zip(results) {
        let width = values.len() / chunk.len();
        for (row, &i) in values.chunks(width).zip(chunk.iter()) {
            out[i] = row.to_vec();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Cpu;
    use crate::encode::test_pair;
    use crate::zoo::Arch;

    /// A tiny untrained ResGRU-Att over the characters of `texts`.
    fn tiny_model<S: AsRef<str>>(
        texts: &[S],
        classes: usize,
        seed: u64,
    ) -> (Vocab, ModelConfig, RelationModel<Cpu>) {
        let vocab = Vocab::build(texts, 1);
        let mut c = ModelConfig::preset("tiny", Arch::ResgruAtt).unwrap();
        c.vocab_size = vocab.len();
        c.n_classes = classes;
        let model = c.init::<Cpu>(seed, None, &Default::default()).unwrap();
        (vocab, c, model)
    }

    #[test]
    fn save_then_load_gives_identical_probabilities() {
        let dir = tempfile::tempdir().unwrap();
        let texts = ["肺癌行手术治疗", "左肺上叶见结节影"];
        let (vocab, c, model) = tiny_model(&texts, 3, 5);
        let device = Default::default();
        let pairs: Vec<PairText> = texts.iter().map(|t| test_pair(t, (0, 2), (3, 5))).collect();
        let enc: Vec<EncodedPair> =
            pairs.iter().map(|p| encode_pair(&vocab, &c.encode_config(), p).unwrap()).collect();
        let before = predict(&model, &enc, 7, &device);
        model.save_file(dir.path().join(MODEL_FILE), &Rec::new()).unwrap();
        c.save(dir.path().join(CONFIG_FILE)).unwrap();
        vocab.save(&dir.path().join(VOCAB_FILE)).unwrap();
        std::fs::write(
            dir.path().join(crate::train::META_FILE),
            r#"{"format":1,"model":"resgru-att","preset":"tiny","classes":["none","a","b"],"seed":5,"epochs_run":0,"best_dev_f1":0.0,"complete":true}"#,
        )
        .unwrap();
        let scorer = BurnScorer::<Cpu>::load(dir.path(), &device).unwrap();
        assert_eq!(scorer.score(&pairs).unwrap(), before);
        assert_eq!(scorer.classes(), ["none", "a", "b"]);
    }

    #[test]
    fn parallel_scoring_gives_the_same_results_in_the_same_order() {
        let texts: Vec<String> = (0..11)
            .map(|i| format!("{}左肺上叶见结节影{}", "患者".repeat(i % 4), "术后".repeat(i % 3)))
            .collect();
        let (vocab, c, model) = tiny_model(&texts, 4, 9);
        let device = Default::default();
        let enc: Vec<EncodedPair> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let p = test_pair(t, (i % 3, i % 3 + 2), (5, 7));
                encode_pair(&vocab, &c.encode_config(), &p).unwrap()
            })
            .collect();
        let one = run_batches(&model, &enc, 2, &device, true, 1);
        assert_eq!(one.len(), 11);
        assert!(one.windows(2).any(|w| w[0] != w[1]), "pairs differ, so order matters");
        for workers in [2, 3, 8] {
            assert_eq!(run_batches(&model, &enc, 2, &device, true, workers), one);
        }
        let features = run_batches(&model, &enc, 3, &device, false, 1);
        assert_eq!(run_batches(&model, &enc, 3, &device, false, 2), features);
    }
}
