//! Real-data benchmark: trains and evaluates every model of the zoo on the Ruijin diabetes corpus
//! (brat) and prints tables like the paper's Table 7 (P/R/F1 per model), Table 6 (training time)
//! and Table 8 (per-relation figures of ResGRU-Att).
//!
//! The corpus is read with `emrel_formats::brat::read` (relations as gold labels) and prepared with
//! the Ruijin schema in lenient mode (skipped records are counted). Pairs are sentence-level
//! candidate pairs, labeled with their gold relation or `none`. Documents are split 80/20 with a
//! fixed seed. To fit a small CPU budget, training may subsample the `none` pairs
//! (`--max-train-pairs`); the test split is never subsampled.
//!
//! ```text
//! cargo run --release -p emrel-ml --example ruijin -- [--data DIR] [--models cnn,resgru-att]
//!     [--epochs 2] [--max-train-pairs 6000] [--none-per-relation 1] [--preset cpu] [--seed 7] [--device cpu|cuda|auto]
//! ```
//! Prints a message and exits successfully when the data folder is absent.

use std::path::{Path, PathBuf};
use std::time::Instant;

use emrel_core::model::{CancelToken, Example, PairText, TrainRequest, Trainer};
use emrel_core::{LabelSource, NONE, Schema, prepare_document};
use emrel_ml::{ARCHS, Arch, BurnTrainer, DeviceChoice, evaluate_scorer, select_device};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

type Error = Box<dyn std::error::Error>;

struct Args {
    data: PathBuf,
    schema: PathBuf,
    models: Vec<Arch>,
    epochs: usize,
    max_train_pairs: usize,
    none_per_relation: f64,
    preset: String,
    seed: u64,
    device: DeviceChoice,
}

fn parse_args() -> Result<Args, Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut a = Args {
        data: std::env::var_os("EMREL_RUIJIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| root.join("../shared/data/ruijin")),
        schema: root.join("assets/schemas/ruijin.toml"),
        models: ARCHS.to_vec(),
        epochs: 2,
        max_train_pairs: 6_000,
        none_per_relation: 1.0,
        preset: "cpu".into(),
        seed: 7,
        device: DeviceChoice::Cpu,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--data" => a.data = value()?.into(),
            "--schema" => a.schema = value()?.into(),
            "--models" => {
                a.models = value()?.split(',').map(str::parse).collect::<Result<_, _>>()?;
            }
            "--epochs" => a.epochs = value()?.parse()?,
            "--max-train-pairs" => a.max_train_pairs = value()?.parse()?,
            "--none-per-relation" => a.none_per_relation = value()?.parse()?,
            "--preset" => a.preset = value()?.clone(),
            "--seed" => a.seed = value()?.parse()?,
            "--device" => a.device = value()?.parse()?,
            "-h" | "--help" => {
                println!(
                    "ruijin [--data DIR] [--schema FILE] [--models a,b] [--epochs N] \
                     [--max-train-pairs N (0 = all)] [--none-per-relation R] [--preset cpu|paper] [--seed N] [--device cpu|cuda|auto]"
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    Ok(a)
}

/// One document's labeled candidate pairs.
struct Doc {
    pairs: Vec<Example>,
    sentences: Vec<String>,
}

fn main() -> Result<(), Error> {
    let args = parse_args()?;
    if !args.data.is_dir() {
        println!("ruijin benchmark skipped: no data at {}", args.data.display());
        return Ok(());
    }
    let schema = Schema::from_toml(&std::fs::read_to_string(&args.schema)?)?;
    let classes = schema.classes();
    let t0 = Instant::now();
    let read = emrel_formats::brat::read(std::slice::from_ref(&args.data), LabelSource::Gold)?;
    let (mut skipped, mut cross) = (0usize, 0usize);
    let mut docs: Vec<Doc> = Vec::new();
    for input in read.documents {
        let prepared = prepare_document(&schema, input, true)?;
        skipped += prepared.skipped.len();
        cross += prepared.cross_sentence_relations;
        let mut pairs = Vec::new();
        for (si, s) in prepared.sentences.iter().enumerate() {
            for &(h, t) in &s.pairs {
                let relation = prepared
                    .labels
                    .iter()
                    .find(|l| l.sentence == si && l.head == h && l.tail == t)
                    .map_or(NONE, |l| l.relation.as_str());
                let class = classes.iter().position(|c| c == relation).unwrap_or(0);
                let (he, te) = (&s.entities[h], &s.entities[t]);
                pairs.push(Example {
                    pair: PairText {
                        text: s.text.clone(),
                        head: he.extent(),
                        tail: te.extent(),
                        head_type: he.entity_type.clone(),
                        tail_type: te.entity_type.clone(),
                    },
                    class,
                });
            }
        }
        docs.push(Doc {
            pairs,
            sentences: prepared.sentences.into_iter().map(|s| s.text).collect(),
        });
    }
    let n_pairs: usize = docs.iter().map(|d| d.pairs.len()).sum();
    let n_pos: usize = docs.iter().flat_map(|d| &d.pairs).filter(|e| e.class != 0).count();
    println!(
        "Ruijin: {} documents, {n_pairs} candidate pairs ({n_pos} with a relation), \
         {skipped} records skipped (lenient), {cross} cross-sentence relations left out; read in {:.1} s",
        docs.len(),
        t0.elapsed().as_secs_f64()
    );

    // Document-level 80/20 split.
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(args.seed));
    let n_test = docs.len().div_ceil(5);
    let (test_docs, train_docs) = order.split_at(n_test);
    let test: Vec<Example> = test_docs.iter().flat_map(|&i| docs[i].pairs.clone()).collect();
    let all_train: Vec<Example> = train_docs.iter().flat_map(|&i| docs[i].pairs.clone()).collect();
    let corpus: Vec<String> = docs.iter().flat_map(|d| d.sentences.clone()).collect();

    // Training subsample: `none` pairs capped at R per relation pair, then a uniform sample of
    // the rest down to the cap (so the relations keep their proportions).
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed ^ 0x5eed);
    let (pos, mut neg): (Vec<Example>, Vec<Example>) =
        all_train.iter().cloned().partition(|e| e.class != 0);
    neg.shuffle(&mut rng);
    neg.truncate(((pos.len() as f64) * args.none_per_relation).ceil() as usize);
    let mut train: Vec<Example> = pos.into_iter().chain(neg).collect();
    train.shuffle(&mut rng);
    if args.max_train_pairs > 0 {
        train.truncate(args.max_train_pairs);
    }
    let count = |v: &[Example]| (v.len(), v.iter().filter(|e| e.class != 0).count());
    let ((tn, tp), (an, ap), (sn, sp)) = (count(&train), count(&all_train), count(&test));
    println!(
        "split (seed {}): train {} documents, {an} pairs ({ap} relations); test {} documents, \
         {sn} pairs ({sp} relations)",
        args.seed,
        train_docs.len(),
        test_docs.len()
    );
    if tn < an {
        println!(
            "training on a subsample of {tn} pairs ({tp} relation, {} none): `none` pairs capped \
             at {} per relation pair (of {} none in the training documents), then a uniform \
             sample to --max-train-pairs {}; the test split is complete",
            tn - tp,
            args.none_per_relation,
            an - ap,
            args.max_train_pairs
        );
    }
    println!(
        "preset {}, {} epoch(s) at most (early stopping on a 10% dev part of the training pairs), seed {}\n",
        args.preset, args.epochs, args.seed
    );

    let device = select_device(args.device)?;
    let trainer = BurnTrainer::new(device.clone());
    let work = tempfile::tempdir()?;
    struct Row {
        arch: Arch,
        p: f64,
        r: f64,
        f1: f64,
        train_s: f64,
        epochs: usize,
        score_pairs_s: f64,
        per_class: Vec<emrel_core::metrics::Prf>,
    }
    let mut rows: Vec<Row> = Vec::new();
    for &arch in &args.models {
        let out_dir = work.path().join(arch.name());
        let request = TrainRequest {
            model: arch.name().into(),
            preset: args.preset.clone(),
            classes: classes.clone(),
            train: train.clone(),
            corpus: corpus.clone(),
            out_dir: out_dir.clone(),
            char_vectors: None,
            seed: args.seed,
            epochs: Some(args.epochs),
        };
        let started = Instant::now();
        let mut last = Instant::now();
        let outcome = trainer.train(
            &request,
            &mut |p| {
                if p.dev_f1.is_some() || last.elapsed().as_secs() >= 30 {
                    last = Instant::now();
                    eprintln!(
                        "  {arch} epoch {}/{} step {}/{} loss {:.4}{}",
                        p.epoch,
                        p.epochs,
                        p.step,
                        p.steps_per_epoch,
                        p.loss,
                        p.dev_f1.map(|f| format!(" dev F1 {f:.3}")).unwrap_or_default()
                    );
                }
            },
            &CancelToken::new(),
        )?;
        let train_s = started.elapsed().as_secs_f64();
        let scorer = trainer.load(&out_dir)?;
        let t = Instant::now();
        let eval = evaluate_scorer(scorer.as_ref(), &test, &classes)?;
        let score_s = t.elapsed().as_secs_f64();
        println!(
            "{arch}: P {:.3} R {:.3} F1 {:.3}; trained {} epoch(s) in {train_s:.0} s; scored {} test pairs in {score_s:.1} s",
            eval.micro.precision,
            eval.micro.recall,
            eval.micro.f1,
            outcome.epochs_run,
            test.len()
        );
        rows.push(Row {
            arch,
            p: eval.micro.precision,
            r: eval.micro.recall,
            f1: eval.micro.f1,
            train_s,
            epochs: outcome.epochs_run,
            score_pairs_s: test.len() as f64 / score_s,
            per_class: eval.per_class,
        });
    }

    println!("\nTable 7 (test split, micro over the relations, `none` left out)\n");
    println!("| model | P | R | F1 |\n|---|---|---|---|");
    for r in &rows {
        println!("| {} | {:.3} | {:.3} | {:.3} |", r.arch, r.p, r.r, r.f1);
    }
    println!("\nTable 6 (training time on {}, {tn} training pairs)\n", device.name());
    println!("| model | epochs | training s | s/epoch | scoring pairs/s |\n|---|---|---|---|---|");
    for r in &rows {
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} |",
            r.arch,
            r.epochs,
            r.train_s,
            r.train_s / r.epochs.max(1) as f64,
            r.score_pairs_s
        );
    }
    if let Some(r) = rows.iter().find(|r| r.arch == Arch::ResgruAtt) {
        println!("\nTable 8 (ResGRU-Att per relation, test split)\n");
        println!("| relation | P | R | F1 | support |\n|---|---|---|---|---|");
        for (c, prf) in classes.iter().zip(&r.per_class).skip(1) {
            println!(
                "| {c} | {:.3} | {:.3} | {:.3} | {} |",
                prf.precision, prf.recall, prf.f1, prf.support
            );
        }
    }
    Ok(())
}
