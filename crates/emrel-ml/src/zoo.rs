//! The model zoo: the paper's ResGRU-Att and its seven baselines, all built from one
//! [`ModelConfig`] (saved as `config.json` beside the weights).
//!
//! Every model embeds each character as [char ⊕ head position ⊕ tail position]
//! (`char_dim + 2 · pos_dim`), extracts features, pools them over the unpadded positions and ends
//! in a linear layer (softmax in the loss and the scorer):
//!
//! | name | features | pooling |
//! |---|---|---|
//! | `cnn` | one conv per window (3, 5, 7), ReLU | max |
//! | `cnn-att` | same | attention |
//! | `pcnn` | same | piecewise max over the three segments the entities cut |
//! | `resnet` | conv stem + residual blocks (two conv + ReLU, identity shortcut) | max |
//! | `bilstm-att` | stacked BiLSTM | attention |
//! | `bigru-att` | stacked BiGRU | attention |
//! | `resgru` | ResNet branch ⊕ BiGRU branch | max, each |
//! | `resgru-att` | ResNet branch ⊕ BiGRU branch | attention, each (the paper's model) |
//!
//! Attention is a_i = softmax(w·tanh(H_i) + b), S = Σ a_i H_i (the paper's Eqs. 10–11). The
//! ResNet has `1 + 2 · res_blocks` conv layers (the `paper` preset's 5 blocks give the 11 layers
//! the paper settles on).

use std::fmt;
use std::str::FromStr;

use burn::config::Config;
use burn::module::{Module, Param};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use emrel_core::model::ModelError;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::batch::TensorBatch;
use crate::encode::EncodeConfig;
use crate::gru::GruBackend;
use crate::layers::{Attention, Conv, Dense, dropout, masked_max, uniform};
use crate::rnn::BiRnn;

/// A model of the zoo.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Arch {
    Cnn,
    CnnAtt,
    Pcnn,
    Resnet,
    BilstmAtt,
    BigruAtt,
    Resgru,
    ResgruAtt,
}

/// Every model, in the paper's order.
pub const ARCHS: [Arch; 8] = [
    Arch::Cnn,
    Arch::CnnAtt,
    Arch::Pcnn,
    Arch::Resnet,
    Arch::BilstmAtt,
    Arch::BigruAtt,
    Arch::Resgru,
    Arch::ResgruAtt,
];

/// The preset names: `paper` (Table 4), `cpu` (trains in minutes on a laptop), `tiny` (tests).
pub const PRESETS: [&str; 3] = ["paper", "cpu", "tiny"];

impl Arch {
    /// The CLI name (`resgru-att`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::Cnn => "cnn",
            Arch::CnnAtt => "cnn-att",
            Arch::Pcnn => "pcnn",
            Arch::Resnet => "resnet",
            Arch::BilstmAtt => "bilstm-att",
            Arch::BigruAtt => "bigru-att",
            Arch::Resgru => "resgru",
            Arch::ResgruAtt => "resgru-att",
        }
    }

    fn multi_window_cnn(self) -> bool {
        matches!(self, Arch::Cnn | Arch::CnnAtt | Arch::Pcnn)
    }

    fn has_resnet(self) -> bool {
        matches!(self, Arch::Resnet | Arch::Resgru | Arch::ResgruAtt)
    }

    fn has_rnn(self) -> bool {
        matches!(self, Arch::BilstmAtt | Arch::BigruAtt | Arch::Resgru | Arch::ResgruAtt)
    }

    fn uses_attention(self) -> bool {
        matches!(self, Arch::CnnAtt | Arch::BilstmAtt | Arch::BigruAtt | Arch::ResgruAtt)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Arch {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ARCHS.into_iter().find(|a| a.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ARCHS.iter().map(|a| a.name()).collect();
            ModelError::Invalid(format!(
                "unknown model `{s}` (expected one of {})",
                names.join(", ")
            ))
        })
    }
}

/// Everything that defines a model and how it is trained.
#[derive(Config, Debug, PartialEq)]
pub struct ModelConfig {
    pub arch: Arch,
    pub preset: String,
    pub vocab_size: usize,
    pub n_classes: usize,
    pub char_dim: usize,
    pub pos_dim: usize,
    /// Relative positions are clipped to ±`max_pos`.
    pub max_pos: usize,
    /// Window length in characters.
    pub max_len: usize,
    /// Filters of every convolution.
    pub filters: usize,
    /// Windows of the CNN/CNN-Att/PCNN convolutions (one conv each).
    pub windows: Vec<usize>,
    /// Residual blocks of the ResNet branch (two convs each) after its conv stem.
    pub res_blocks: usize,
    /// Window of the ResNet convolutions.
    pub res_kernel: usize,
    /// Hidden units per direction of the BiGRU/BiLSTM.
    pub rnn_hidden: usize,
    pub rnn_layers: usize,
    pub dropout: f64,
    pub lr: f64,
    #[config(default = 1e-8)]
    pub adam_epsilon: f64,
    pub batch_size: usize,
    pub epochs: usize,
    /// Epochs without a better dev F1 before training stops.
    pub patience: usize,
    /// Part of the training data held out as the dev part for early stopping.
    #[config(default = 0.1)]
    pub dev_fraction: f64,
    /// Characters seen fewer times than this map to `<unk>`.
    #[config(default = 1)]
    pub min_char_freq: usize,
    /// Weight the loss by inverse class frequency (scikit-learn's "balanced").
    #[config(default = false)]
    pub class_weighting: bool,
    /// Weight the loss by inverse class frequency also whenever the training part holds fewer
    /// examples than this (few labels: without weighting, a model predicts `none` everywhere).
    #[config(default = 0)]
    pub class_weighting_below: usize,
    /// Train for at least this many optimizer steps (more epochs on a small labeled set: 300
    /// labels are 4 batches an epoch) and never stop early before them.
    #[config(default = 0)]
    pub min_steps: usize,
    /// Start from character vectors pretrained on the project's own text when the user names
    /// none (the engine pretrains them once, before the first training; the paper does).
    #[config(default = false)]
    pub pretrain_chars: bool,
}

impl ModelConfig {
    /// The named preset for `arch` (`vocab_size` and `n_classes` are filled in by the trainer).
    pub fn preset(name: &str, arch: Arch) -> Result<ModelConfig, ModelError> {
        let mut c = match name {
            // Table 4: batch 64, char 300, position 25, GRU 512 × 3 layers, windows 3/5/7,
            // 128 filters, Adam lr 0.015, dropout 0.5, 11-layer ResNet.
            "paper" => ModelConfig::new(
                arch,
                name.into(),
                0,
                0,
                300,
                25,
                100,
                150,
                128,
                vec![3, 5, 7],
                5,
                3,
                512,
                3,
                0.5,
                0.015,
                64,
                30,
                5,
            ),
            // The benchmark's shapes: char 128 + 2 × 25, 128 filters, 2 blocks, BiGRU 2 × 128.
            "cpu" => ModelConfig::new(
                arch,
                name.into(),
                0,
                0,
                128,
                25,
                60,
                100,
                128,
                vec![3, 5, 7],
                2,
                3,
                128,
                1,
                0.5,
                1e-3,
                64,
                10,
                3,
            ),
            "tiny" => ModelConfig::new(
                arch,
                name.into(),
                0,
                0,
                16,
                4,
                20,
                60,
                16,
                vec![3],
                1,
                3,
                16,
                1,
                0.0,
                1e-2,
                16,
                20,
                20,
            ),
            other => {
                return Err(ModelError::Invalid(format!(
                    "unknown preset `{other}` (expected one of {})",
                    PRESETS.join(", ")
                )));
            }
        };
        // The cold start (bench/README.md, "Cold start"): on the demo corpus with 300 seed
        // labels, 10 epochs of 4 batches without weighting predicted `none` for every pair
        // (pool F1 0.0); class weighting, at least 600 steps and pretrained character vectors
        // reached 0.52.
        match name {
            "tiny" => c.min_steps = 60,
            _ => {
                c.class_weighting_below = 500;
                c.min_steps = 600;
                c.pretrain_chars = true;
            }
        }
        Ok(c)
    }

    pub fn encode_config(&self) -> EncodeConfig {
        EncodeConfig { max_len: self.max_len, max_pos: self.max_pos }
    }

    /// Checks sizes that would otherwise fail inside the model.
    pub fn validate(&self) -> Result<(), ModelError> {
        let bad = |m: &str| Err(ModelError::Invalid(format!("model config: {m}")));
        if self.n_classes < 2 {
            return bad("at least two classes are needed");
        }
        if self.vocab_size < 2 || self.char_dim == 0 || self.max_len == 0 || self.batch_size == 0 {
            return bad("vocabulary, char dimension, window and batch size must be positive");
        }
        if self.arch.multi_window_cnn()
            && (self.windows.is_empty() || self.windows.iter().any(|w| w.is_multiple_of(2)))
        {
            return bad("cnn windows must be odd and at least one");
        }
        if self.arch.has_resnet() && self.res_kernel.is_multiple_of(2) {
            return bad("the resnet window must be odd");
        }
        if self.arch.has_rnn() && (self.rnn_hidden == 0 || self.rnn_layers == 0) {
            return bad("rnn hidden size and layers must be positive");
        }
        if !(0.0..1.0).contains(&self.dropout) || !(0.0..1.0).contains(&self.dev_fraction) {
            return bad("dropout and dev fraction must be in [0, 1)");
        }
        Ok(())
    }

    fn input_dim(&self) -> usize {
        self.char_dim + 2 * self.pos_dim
    }

    /// Size of the pooled feature vector the classifier reads.
    pub fn feature_dim(&self) -> usize {
        let cnn = self.windows.len() * self.filters;
        match self.arch {
            Arch::Cnn | Arch::CnnAtt => cnn,
            Arch::Pcnn => 3 * cnn,
            Arch::Resnet => self.filters,
            Arch::BilstmAtt | Arch::BigruAtt => 2 * self.rnn_hidden,
            Arch::Resgru | Arch::ResgruAtt => self.filters + 2 * self.rnn_hidden,
        }
    }

    /// Builds the model with weights drawn from `seed`; `char_vectors` (one row per vocabulary
    /// id, `None` for ids without a vector) initialises the character embedding.
    pub fn init<B: Backend>(
        &self,
        seed: u64,
        char_vectors: Option<&[Option<Vec<f32>>]>,
        device: &B::Device,
    ) -> Result<RelationModel<B>, ModelError> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let char_emb = match char_vectors {
            None => uniform(&mut rng, [self.vocab_size, self.char_dim], 0.5, device),
            Some(rows) => {
                if rows.len() != self.vocab_size {
                    return Err(ModelError::Invalid(
                        "char vectors do not match the vocabulary".into(),
                    ));
                }
                let mut data = Vec::with_capacity(self.vocab_size * self.char_dim);
                for (i, row) in rows.iter().enumerate() {
                    match row {
                        Some(v) if v.len() == self.char_dim => data.extend_from_slice(v),
                        Some(v) => {
                            return Err(ModelError::Invalid(format!(
                                "char vector of {} dims where the model has {}",
                                v.len(),
                                self.char_dim
                            )));
                        }
                        None if i == 0 => data.extend(std::iter::repeat_n(0.0, self.char_dim)),
                        None => {
                            use rand::Rng;
                            data.extend((0..self.char_dim).map(|_| rng.gen_range(-0.5f32..=0.5)))
                        }
                    }
                }
                Param::from_tensor(Tensor::from_data(
                    TensorData::new(data, [self.vocab_size, self.char_dim]),
                    device,
                ))
            }
        };
        let n_pos = self.encode_config().n_positions();
        let head_emb = uniform(&mut rng, [n_pos, self.pos_dim], 0.5, device);
        let tail_emb = uniform(&mut rng, [n_pos, self.pos_dim], 0.5, device);
        let d = self.input_dim();
        let f = self.filters;
        let arch = self.arch;
        let mut convs = Vec::new();
        let mut blocks = Vec::new();
        if arch.multi_window_cnn() {
            convs = self.windows.iter().map(|&w| Conv::new(&mut rng, d, f, w, device)).collect();
        }
        if arch.has_resnet() {
            convs.push(Conv::new(&mut rng, d, f, self.res_kernel, device));
            blocks = (0..self.res_blocks)
                .map(|_| ResBlock {
                    conv1: Conv::new(&mut rng, f, f, self.res_kernel, device),
                    conv2: Conv::new(&mut rng, f, f, self.res_kernel, device),
                })
                .collect();
        }
        let rnn = arch.has_rnn().then(|| {
            BiRnn::new(
                &mut rng,
                d,
                self.rnn_hidden,
                self.rnn_layers,
                arch == Arch::BilstmAtt,
                device,
            )
        });
        let conv_width = if arch.multi_window_cnn() { self.windows.len() * f } else { f };
        let conv_att = (arch.uses_attention() && arch != Arch::BilstmAtt && arch != Arch::BigruAtt)
            .then(|| Attention::new(&mut rng, conv_width, device));
        let rnn_att = (arch.uses_attention() && arch.has_rnn())
            .then(|| Attention::new(&mut rng, 2 * self.rnn_hidden, device));
        let out = Dense::new(&mut rng, self.feature_dim(), self.n_classes, device);
        Ok(RelationModel {
            char_emb,
            head_emb,
            tail_emb,
            convs,
            blocks,
            rnn,
            conv_att,
            rnn_att,
            out,
            arch,
            dropout: self.dropout,
        })
    }
}

/// Two convolutions with ReLU and an identity shortcut: ĉ = ReLU(ReLU(W₂·ReLU(W₁·c)) + c).
#[derive(Module, Debug)]
pub(crate) struct ResBlock<B: Backend> {
    conv1: Conv<B>,
    conv2: Conv<B>,
}

/// A model of the zoo (see the module docs for the architectures).
#[derive(Module, Debug)]
pub struct RelationModel<B: Backend> {
    char_emb: Param<Tensor<B, 2>>,
    head_emb: Param<Tensor<B, 2>>,
    tail_emb: Param<Tensor<B, 2>>,
    convs: Vec<Conv<B>>,
    blocks: Vec<ResBlock<B>>,
    rnn: Option<BiRnn<B>>,
    conv_att: Option<Attention<B>>,
    rnn_att: Option<Attention<B>>,
    out: Dense<B>,
    arch: Arch,
    dropout: f64,
}

impl<B: GruBackend> RelationModel<B> {
    /// Sum of the classifier's bias (reading it waits for the device to finish its queue).
    pub(crate) fn out_bias_sum(&self) -> Tensor<B, 1> {
        self.out.bias.val().sum()
    }

    /// Pooled features `[b, feature_dim]` and logits `[b, n_classes]`. Dropout acts only when
    /// `rng` is given (training).
    pub(crate) fn forward(
        &self,
        batch: &TensorBatch<B>,
        mut rng: Option<&mut ChaCha8Rng>,
    ) -> (Tensor<B, 2>, Tensor<B, 2>) {
        use burn::tensor::module::embedding;
        let mask = batch.mask.clone();
        let x = Tensor::cat(
            vec![
                embedding(self.char_emb.val(), batch.chars.clone()),
                embedding(self.head_emb.val(), batch.head_pos.clone()),
                embedding(self.tail_emb.val(), batch.tail_pos.clone()),
            ],
            2,
        );
        let x = dropout(x, self.dropout, rng.as_deref_mut()) * mask.clone();
        let mut parts: Vec<Tensor<B, 2>> = Vec::new();
        if self.arch.multi_window_cnn() {
            let h: Vec<Tensor<B, 3>> =
                self.convs.iter().map(|c| relu(c.forward(x.clone()))).collect();
            let h = Tensor::cat(h, 2) * mask.clone();
            match self.arch {
                Arch::Cnn => parts.push(masked_max(h, mask.clone())),
                Arch::CnnAtt => parts.push(
                    self.conv_att
                        .as_ref()
                        .expect("cnn-att has attention")
                        .forward(h, batch.pad.clone()),
                ),
                _ => {
                    for seg in &batch.segments {
                        parts.push(masked_max(h.clone(), seg.clone()));
                    }
                }
            }
        }
        if self.arch.has_resnet() {
            let mut c = relu(self.convs[0].forward(x.clone())) * mask.clone();
            for block in &self.blocks {
                let c1 = relu(block.conv1.forward(c.clone())) * mask.clone();
                let c2 = relu(block.conv2.forward(c1));
                c = relu(c2 + c) * mask.clone();
            }
            parts.push(match &self.conv_att {
                Some(att) => att.forward(c, batch.pad.clone()),
                None => masked_max(c, mask.clone()),
            });
        }
        if let Some(rnn) = &self.rnn {
            let h = rnn.forward(x, &batch.rev);
            parts.push(match &self.rnn_att {
                Some(att) => att.forward(h, batch.pad.clone()),
                None => masked_max(h, mask.clone()),
            });
        }
        let features =
            if parts.len() == 1 { parts.pop().expect("one part") } else { Tensor::cat(parts, 1) };
        let dropped = dropout(features.clone(), self.dropout, rng);
        (features, self.out.forward(dropped))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for a in ARCHS {
            assert_eq!(a.name().parse::<Arch>().unwrap(), a);
        }
        assert!("gpt".parse::<Arch>().is_err());
        assert!(ModelConfig::preset("huge", Arch::Cnn).is_err());
    }

    #[test]
    fn paper_preset_is_table_4() {
        let c = ModelConfig::preset("paper", Arch::ResgruAtt).unwrap();
        assert_eq!(
            (c.batch_size, c.char_dim, c.pos_dim, c.rnn_hidden, c.rnn_layers),
            (64, 300, 25, 512, 3)
        );
        assert_eq!(
            (c.windows.clone(), c.filters, c.lr, c.dropout),
            (vec![3, 5, 7], 128, 0.015, 0.5)
        );
        assert_eq!(1 + 2 * c.res_blocks, 11);
    }
}

#[cfg(test)]
mod shape_tests {
    use super::*;
    use crate::backend::Cpu;
    use crate::batch::HostBatch;
    use crate::encode::{Vocab, encode_pair};
    use emrel_core::Span;
    use emrel_core::model::PairText;

    #[test]
    fn every_model_gives_features_and_logits_of_the_right_shape() {
        let texts = ["肺癌行手术治疗", "左肺上叶见结节影，考虑肺癌", "无"];
        let spans = [((0, 2), (3, 5)), ((1, 3), (11, 13)), ((0, 1), (0, 1))];
        let vocab = Vocab::build(&texts, 1);
        let device = Default::default();
        for arch in ARCHS {
            let mut c = ModelConfig::preset("tiny", arch).unwrap();
            c.vocab_size = vocab.len();
            c.n_classes = 4;
            c.dropout = 0.3;
            let enc: Vec<_> = texts
                .iter()
                .zip(spans)
                .map(|(t, (h, tl))| {
                    let p = PairText {
                        text: t.to_string(),
                        head: Span::new(h.0, h.1),
                        tail: Span::new(tl.0, tl.1),
                        head_type: String::new(),
                        tail_type: String::new(),
                    };
                    encode_pair(&vocab, &c.encode_config(), &p).unwrap()
                })
                .collect();
            let refs: Vec<_> = enc.iter().collect();
            let tb = HostBatch::new(&refs).to_device::<Cpu>(&device);
            let model = c.init::<Cpu>(1, None, &device).unwrap();
            let (f, logits) = model.forward(&tb, None);
            assert_eq!(f.dims(), [3, c.feature_dim()], "{arch}");
            assert_eq!(logits.dims(), [3, 4], "{arch}");
            let mut rng = ChaCha8Rng::seed_from_u64(1);
            let (_, dropped) = model.forward(&tb, Some(&mut rng));
            assert_eq!(dropped.dims(), [3, 4], "{arch}");
            let values: Vec<f32> = logits.into_data().to_vec().unwrap();
            assert!(values.iter().all(|v| v.is_finite()), "{arch}");
        }
    }

    #[test]
    fn padding_does_not_change_a_pair_s_output() {
        // The same pair scored alone and next to a longer one gives the same logits: attention,
        // pooling, convolutions and both GRU directions ignore the padding.
        let texts = ["肺癌行手术治疗", "左肺上叶见结节影，考虑肺癌可能，建议手术"];
        let vocab = Vocab::build(&texts, 1);
        let device = Default::default();
        for arch in ARCHS {
            let mut c = ModelConfig::preset("tiny", arch).unwrap();
            c.vocab_size = vocab.len();
            c.n_classes = 3;
            let p = |t: &str, h: (usize, usize), tl: (usize, usize)| {
                let p = PairText {
                    text: t.to_string(),
                    head: Span::new(h.0, h.1),
                    tail: Span::new(tl.0, tl.1),
                    head_type: String::new(),
                    tail_type: String::new(),
                };
                encode_pair(&vocab, &c.encode_config(), &p).unwrap()
            };
            let short = p(texts[0], (0, 2), (3, 5));
            let long = p(texts[1], (1, 3), (11, 13));
            let model = c.init::<Cpu>(2, None, &device).unwrap();
            let alone = model.forward(&HostBatch::new(&[&short]).to_device::<Cpu>(&device), None).1;
            let padded =
                model.forward(&HostBatch::new(&[&short, &long]).to_device::<Cpu>(&device), None).1;
            let a: Vec<f32> = alone.into_data().to_vec().unwrap();
            let b: Vec<f32> = padded.into_data().to_vec().unwrap();
            for (x, y) in a.iter().zip(&b[..3]) {
                assert!((x - y).abs() < 1e-4, "{arch}: {a:?} vs {b:?}");
            }
        }
    }
}
