//! End-to-end tests of the trainer and scorer on tiny shapes with fixed seeds: learning a
//! separable toy relation, save → load, reproducibility, cancellation and resume, and
//! char-embedding pretraining.

use std::path::Path;

use emrel_core::Span;
use emrel_core::model::{
    CancelToken, Example, ModelError, PairText, TrainProgress, TrainRequest, Trainer,
};
use emrel_ml::{BurnTrainer, evaluate_scorer, load_char_vectors, pretrain_char_embeddings};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const CLASSES: [&str; 3] = ["none", "cure", "cause"];

/// Sentences of filler characters with a head entity 肺癌 and a tail entity 手术 (in either
/// order); the relation is given by one marker character between them: 治 → cure, 致 → cause,
/// 和 → none.
fn toy(n: usize, seed: u64) -> Vec<Example> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let filler: Vec<char> =
        "的是在有一个不了人我这上们来到时大地为子中你说生国年着就那和要她出也得里后自以会"
            .chars()
            .collect();
    let markers = ['和', '治', '致'];
    (0..n)
        .map(|_| {
            let class = rng.gen_range(0..3);
            let swap = rng.gen_bool(0.5);
            let mut fill = |k: usize| -> String {
                (0..k).map(|_| filler[rng.gen_range(0..filler.len())]).collect()
            };
            let (a, b, c, d) = (fill(3), fill(2), fill(2), fill(4));
            let (first, second) = if swap { ("手术", "肺癌") } else { ("肺癌", "手术") };
            let text = format!("{a}{first}{b}{}{c}{second}{d}", markers[class]);
            let chars: Vec<char> = text.chars().collect();
            let find = |s: &str| {
                let p: Vec<char> = s.chars().collect();
                let i = chars.windows(2).position(|w| w == p.as_slice()).unwrap();
                Span::new(i, i + 2)
            };
            let pair = PairText {
                head: find("肺癌"),
                tail: find("手术"),
                text,
                head_type: "disease".into(),
                tail_type: "treatment".into(),
            };
            Example { pair, class }
        })
        .collect()
}

fn request(model: &str, train: Vec<Example>, out: &Path, seed: u64, epochs: usize) -> TrainRequest {
    TrainRequest {
        model: model.into(),
        preset: "tiny".into(),
        classes: CLASSES.iter().map(|s| s.to_string()).collect(),
        corpus: train.iter().map(|e| e.pair.text.clone()).collect(),
        train,
        out_dir: out.to_path_buf(),
        char_vectors: None,
        seed,
        epochs: Some(epochs),
    }
}

fn classes() -> Vec<String> {
    CLASSES.iter().map(|s| s.to_string()).collect()
}

fn learns_the_toy_relation(model: &str, epochs: usize) {
    let dir = tempfile::tempdir().unwrap();
    let trainer = BurnTrainer::default();
    let mut losses: Vec<(usize, f64)> = Vec::new();
    let mut dev = Vec::new();
    let outcome = trainer
        .train(
            &request(model, toy(240, 1), dir.path(), 7, epochs),
            &mut |p: &TrainProgress| match p.dev_f1 {
                Some(f) => dev.push(f),
                None => losses.push((p.epoch, p.loss)),
            },
            &CancelToken::new(),
        )
        .unwrap();
    let mean = |e: usize| {
        let l: Vec<f64> = losses.iter().filter(|x| x.0 == e).map(|x| x.1).collect();
        l.iter().sum::<f64>() / l.len() as f64
    };
    let last = losses.last().unwrap().0;
    assert!(mean(last) < 0.5 * mean(1), "{model}: loss {} → {}", mean(1), mean(last));
    let scorer = trainer.load(dir.path()).unwrap();
    let eval = evaluate_scorer(scorer.as_ref(), &toy(150, 99), &classes()).unwrap();
    assert!(
        eval.micro.f1 > 0.9,
        "{model}: test F1 {} (dev {dev:?}, outcome {outcome:?})",
        eval.micro.f1
    );
}

#[test]
fn resgru_att_learns_a_separable_relation() {
    learns_the_toy_relation("resgru-att", 12);
}

#[test]
fn cnn_learns_a_separable_relation() {
    learns_the_toy_relation("cnn", 12);
}

#[test]
fn same_seed_same_probabilities_and_reload_is_identical() {
    let trainer = BurnTrainer::default();
    let test: Vec<PairText> = toy(20, 5).into_iter().map(|e| e.pair).collect();
    let run = |seed: u64| {
        let dir = tempfile::tempdir().unwrap();
        trainer
            .train(
                &request("bigru-att", toy(60, 2), dir.path(), seed, 2),
                &mut |_| {},
                &CancelToken::new(),
            )
            .unwrap();
        let a = trainer.load(dir.path()).unwrap().score(&test).unwrap();
        let b = trainer.load(dir.path()).unwrap().score(&test).unwrap();
        assert_eq!(a, b, "two loads of one version score alike");
        let f = trainer.load(dir.path()).unwrap().features(&test).unwrap();
        assert_eq!(f[0].len(), 32, "bigru-att features are 2 × hidden");
        a
    };
    let first = run(3);
    assert_eq!(first.len(), 20);
    assert!(first.iter().all(|p| p.len() == 3 && (p.iter().sum::<f32>() - 1.0).abs() < 1e-4));
    assert_eq!(first, run(3), "same seed, same probabilities");
    assert_ne!(first, run(4), "another seed, other probabilities");
}

#[test]
fn cancellation_stops_and_a_rerun_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let trainer = BurnTrainer::default();
    let req = request("pcnn", toy(60, 3), dir.path(), 1, 3);
    let token = CancelToken::new();
    token.cancel();
    assert!(matches!(trainer.train(&req, &mut |_| {}, &token), Err(ModelError::Cancelled)));

    // Cancel during the second epoch, after the first epoch's checkpoint.
    let token = CancelToken::new();
    let t = token.clone();
    let result = trainer.train(
        &req,
        &mut |p: &TrainProgress| {
            if p.epoch == 2 && p.step == 1 {
                t.cancel();
            }
        },
        &token,
    );
    assert!(matches!(result, Err(ModelError::Cancelled)));
    assert!(dir.path().join("checkpoint/state.json").exists());

    let mut epochs_seen = Vec::new();
    let outcome = trainer
        .train(&req, &mut |p: &TrainProgress| epochs_seen.push(p.epoch), &CancelToken::new())
        .unwrap();
    assert_eq!(outcome.epochs_run, 3);
    assert!(epochs_seen.iter().all(|&e| e >= 2), "resumed from epoch 2: {epochs_seen:?}");
    assert!(!dir.path().join("checkpoint").exists());
    for f in ["model.bin", "config.json", "vocab.json", "meta.json"] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
}

#[test]
fn invalid_requests_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let trainer = BurnTrainer::default();
    let mut req = request("transformer", toy(10, 4), dir.path(), 1, 1);
    assert!(matches!(
        trainer.train(&req, &mut |_| {}, &CancelToken::new()),
        Err(ModelError::Invalid(_))
    ));
    req.model = "cnn".into();
    req.preset = "huge".into();
    assert!(matches!(
        trainer.train(&req, &mut |_| {}, &CancelToken::new()),
        Err(ModelError::Invalid(_))
    ));
}

#[test]
fn pretrained_char_vectors_round_trip_and_initialise_training() {
    let dir = tempfile::tempdir().unwrap();
    let corpus: Vec<String> = toy(80, 6).into_iter().map(|e| e.pair.text).collect();
    let path = dir.path().join("chars.vec");
    let report = pretrain_char_embeddings(&corpus, 12, 2, 3, 2, 1, &path).unwrap();
    assert!(report.pairs > 0 && report.final_loss.is_finite(), "{report:?}");
    let vectors = load_char_vectors(&path).unwrap();
    assert_eq!((vectors.dims, vectors.len()), (12, report.vocab));

    let out = dir.path().join("model");
    let mut req = request("cnn-att", toy(40, 7), &out, 1, 1);
    req.char_vectors = Some(path);
    BurnTrainer::default().train(&req, &mut |_| {}, &CancelToken::new()).unwrap();
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("config.json")).unwrap()).unwrap();
    assert_eq!(config["char_dim"], 12);
}

#[test]
fn a_small_set_trains_for_the_presets_minimum_of_steps_unless_epochs_are_given() {
    // 30 examples: 27 train in 2 batches of the tiny preset's 16, so its 60 steps need 30
    // epochs, more than its 20.
    let dir = tempfile::tempdir().unwrap();
    let trainer = BurnTrainer::default();
    let mut req = request("cnn", toy(30, 3), dir.path(), 7, 0);
    req.epochs = None;
    let outcome = trainer.train(&req, &mut |_: &TrainProgress| {}, &CancelToken::new()).unwrap();
    assert_eq!(outcome.epochs_run, 30, "{outcome:?}");
    let dir = tempfile::tempdir().unwrap();
    let req = request("cnn", toy(30, 3), dir.path(), 7, 5);
    let outcome = trainer.train(&req, &mut |_: &TrainProgress| {}, &CancelToken::new()).unwrap();
    assert_eq!(outcome.epochs_run, 5, "epochs asked for are what runs: {outcome:?}");
}
