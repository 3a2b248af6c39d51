//! Engine verbs: train, eval, bootstrap, simulate, rollback, jobs. Each opens the project with
//! the Burn trainer, runs one `emrel_engine` use case with a progress bar on stderr (hidden when
//! stderr is not a terminal), and prints a table, or JSON with `--json`.

use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use emrel_engine::{
    BootstrapOptions, CancelToken, Corruption, JobEvent, JobId, ProgressSink, Project,
    SimulateOptions, Strategy, TrainOptions,
};
use indicatif::ProgressBar;

use crate::Cli;
use crate::progress::bar;

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    Cpu,
    Paper,
    Tiny,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Cuda,
    Auto,
}

#[derive(Args, Debug, Clone)]
pub struct ModelArgs {
    /// Model from the zoo: cnn, cnn-att, pcnn, resnet, bilstm-att, bigru-att, resgru, resgru-att.
    #[arg(long, default_value = "resgru-att")]
    model: String,
    #[arg(long, value_enum, default_value = "cpu")]
    preset: Preset,
    /// Overrides the preset's number of epochs.
    #[arg(long)]
    epochs: Option<usize>,
    #[arg(long, value_enum, default_value = "cpu")]
    device: Device,
    /// Training seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Share of human labels frozen as the gold split on the first training.
    #[arg(long, default_value_t = 0.2)]
    gold_fraction: f64,
    /// Weight the loss by inverse class frequency (on or off; absent: the cpu and paper presets
    /// weight it while fewer than 500 labels are trained on).
    #[arg(long)]
    class_weighting: Option<bool>,
    /// Start the character embedding from these vectors (word2vec text format, e.g. written by
    /// `emrel embed`); the model's character dimension becomes theirs. Absent: the cpu and paper
    /// presets start from `<project>.models/chars.vec`, pretrained on the project's text before
    /// the first training if it does not exist.
    #[arg(long)]
    char_vectors: Option<std::path::PathBuf>,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model version to evaluate (the current one when absent).
    #[arg(long)]
    version: Option<i64>,
}

#[derive(Args, Debug, Clone)]
pub struct BootstrapArgs {
    /// λ: probability a prediction needs to join the reliable set.
    #[arg(long, default_value_t = 0.7)]
    threshold: f64,
    /// N: reliable pairs admitted per iteration.
    #[arg(long, default_value_t = 1000)]
    batch_size: usize,
    /// At most this many admissions per relation and iteration.
    #[arg(long)]
    per_relation_cap: Option<usize>,
    /// F1 points a new model may lose and still replace the current one.
    #[arg(long, default_value_t = 1.0)]
    tolerance: f64,
    #[arg(long)]
    max_iterations: Option<usize>,
    /// Stop after this many rejected iterations in a row.
    #[arg(long, default_value_t = 2)]
    max_rejections: usize,
    #[command(flatten)]
    model: ModelArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum StrategyArg {
    Random,
    Uncertainty,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// Labels revealed from gold before the first model.
    #[arg(long, default_value_t = 500)]
    seed_labels: usize,
    /// How the simulated annotator picks pairs after the seed.
    #[arg(long, value_enum, default_value = "random")]
    strategy: StrategyArg,
    /// Human labels answered from gold after the seed, in all.
    #[arg(long, default_value_t = 0)]
    human_budget: usize,
    /// Human labels per round (default: the budget spread over --max-iterations, or 5 rounds).
    #[arg(long)]
    human_per_iteration: Option<usize>,
    /// Deliberately corrupt this iteration's admitted labels (tests the drift alarms).
    #[arg(long, requires = "corrupt_share")]
    corrupt_iteration: Option<i64>,
    /// Share of the corrupted iteration's labels flipped to a wrong relation the schema allows.
    #[arg(long, requires = "corrupt_iteration")]
    corrupt_share: Option<f64>,
    /// Quarantine an iteration automatically when a drift alarm fires (a project setting).
    #[arg(long)]
    auto_quarantine: Option<bool>,
    #[command(flatten)]
    bootstrap: BootstrapArgs,
}

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Output file (word2vec text format); default `<project>.models/chars.vec`.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    /// Vector dimension.
    #[arg(long, default_value_t = 128)]
    dim: usize,
    /// Largest distance of a context character.
    #[arg(long, default_value_t = 5)]
    window: usize,
    /// Noise characters per (character, context) pair.
    #[arg(long, default_value_t = 5)]
    negatives: usize,
    #[arg(long, default_value_t = 5)]
    epochs: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value = "cpu")]
    device: Device,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// Iteration to roll back (it and every later one).
    #[arg(long)]
    to: i64,
}

#[derive(Args, Debug)]
pub struct JobsArgs {
    /// Restart this interrupted job.
    #[arg(long)]
    resume: Option<i64>,
}

impl ModelArgs {
    fn options(&self) -> TrainOptions {
        TrainOptions {
            model: self.model.clone(),
            preset: match self.preset {
                Preset::Cpu => "cpu",
                Preset::Paper => "paper",
                Preset::Tiny => "tiny",
            }
            .into(),
            epochs: self.epochs,
            seed: self.seed,
            gold_fraction: self.gold_fraction,
            char_vectors: self.char_vectors.clone(),
        }
    }

    fn device(&self) -> &'static str {
        match self.device {
            Device::Cpu => "cpu",
            Device::Cuda => "cuda",
            Device::Auto => "auto",
        }
    }
}

impl BootstrapArgs {
    fn options(&self) -> BootstrapOptions {
        BootstrapOptions {
            train: self.model.options(),
            threshold: self.threshold,
            batch_size: self.batch_size,
            per_relation_cap: self.per_relation_cap,
            tolerance_points: self.tolerance,
            max_iterations: self.max_iterations,
            max_rejections: self.max_rejections,
        }
    }
}

/// Draws job progress on a terminal.
struct BarSink {
    bar: ProgressBar,
}

impl BarSink {
    fn new() -> Arc<BarSink> {
        Arc::new(BarSink { bar: bar(1, "starting") })
    }
}

impl ProgressSink for BarSink {
    fn emit(&self, event: &JobEvent) {
        match event {
            JobEvent::Phase { phase, .. } => {
                self.bar.set_message(phase.clone());
                self.bar.set_position(0);
            }
            JobEvent::Training { epoch, epochs, step, steps_per_epoch, .. } => {
                self.bar.set_length((epochs * steps_per_epoch) as u64);
                self.bar.set_position(((epoch - 1) * steps_per_epoch + step) as u64);
            }
            JobEvent::Scoring { done, total, .. } => {
                self.bar.set_length(*total as u64);
                self.bar.set_position(*done as u64);
            }
            JobEvent::IterationFinished { iteration, promoted, f1, .. } => {
                let verdict = if *promoted { "promoted" } else { "rejected" };
                self.bar.println(format!("iteration {iteration}: F1 {:.2}, {verdict}", f1 * 100.0));
            }
            JobEvent::Finished { .. } => self.bar.finish_and_clear(),
            _ => {}
        }
    }
}

pub(crate) async fn open(cli: &Cli, model: Option<&ModelArgs>) -> anyhow::Result<Project> {
    let trainer = match model {
        Some(m) => emrel_engine::burn_trainer_with(m.device(), m.class_weighting)?,
        None => emrel_engine::burn_trainer("cpu")?,
    };
    if model.is_some() {
        // `--device auto` chooses; the user sees the choice.
        eprintln!("device: {}", trainer.device_name());
    }
    let project = Project::open(&cli.project, trainer).await?;
    for j in project.interrupted_jobs() {
        eprintln!(
            "note: job {} ({}) was interrupted; resume it with `emrel jobs --resume {}`",
            j.id, j.kind, j.id
        );
    }
    Ok(project)
}

/// Cancels the job on Ctrl-C; the job row then reads `cancelled`.
fn cancel_on_ctrl_c() -> CancelToken {
    let token = CancelToken::new();
    let t = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            t.cancel();
        }
    });
    token
}

pub(crate) fn pct(x: f64) -> String {
    format!("{:.2}", x * 100.0)
}

pub async fn train(cli: &Cli, args: &TrainArgs) -> anyhow::Result<()> {
    let project = open(cli, Some(&args.model)).await?;
    let r = project
        .train(&args.model.options(), BarSink::new(), cancel_on_ctrl_c())
        .await
        .context("training failed")?;
    if cli.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "v{}: trained on {} labels in {:.1}s; gold split P {} R {} F1 {} ({} pairs)",
            r.version,
            r.train_size,
            r.seconds,
            pct(r.metrics.precision),
            pct(r.metrics.recall),
            pct(r.metrics.f1),
            r.metrics.pairs
        );
    }
    project.close().await;
    Ok(())
}

pub async fn eval(cli: &Cli, args: &EvalArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let m = project.evaluate(args.version.map(emrel_engine::ModelVersionId)).await?;
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&m)?);
        return Ok(());
    }
    println!("{:<16} {:>9} {:>9} {:>9} {:>8}", "relation", "precision", "recall", "f1", "support");
    for (r, p) in &m.per_relation {
        println!(
            "{r:<16} {:>9} {:>9} {:>9} {:>8}",
            pct(p.precision),
            pct(p.recall),
            pct(p.f1),
            p.support
        );
    }
    println!(
        "{:<16} {:>9} {:>9} {:>9} {:>8}",
        "micro (no none)",
        pct(m.precision),
        pct(m.recall),
        pct(m.f1),
        m.per_relation.values().map(|p| p.support).sum::<usize>()
    );
    println!("{} gold-split pairs", m.pairs);
    Ok(())
}

pub async fn bootstrap(cli: &Cli, args: &BootstrapArgs) -> anyhow::Result<()> {
    let project = open(cli, Some(&args.model)).await?;
    let r = project
        .bootstrap(&args.options(), BarSink::new(), cancel_on_ctrl_c())
        .await
        .context("bootstrapping failed")?;
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    println!(
        "{:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>8}",
        "iteration", "labeled", "admitted", "P", "R", "F1", "status", "seconds"
    );
    if let Some(s) = &r.seed_model {
        println!(
            "{:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>8.1}",
            "seed",
            s.train_size,
            0,
            pct(s.metrics.precision),
            pct(s.metrics.recall),
            pct(s.metrics.f1),
            "active",
            s.seconds
        );
    }
    for i in &r.iterations {
        println!(
            "{:>9} {:>8} {:>8} {:>7} {:>7} {:>7} {:>9} {:>8.1}",
            i.iteration,
            i.labeled_size,
            i.admitted,
            pct(i.precision),
            pct(i.recall),
            pct(i.f1),
            i.status,
            i.seconds
        );
        if !i.promoted {
            println!(
                "          iteration {} rejected: F1 {} is below the current model's {} by more than the tolerance; its labels wait for review",
                i.iteration,
                pct(i.f1),
                pct(i.previous_f1)
            );
        }
    }
    println!("stopped: {}", r.stop);
    Ok(())
}

pub async fn simulate(cli: &Cli, args: &SimulateArgs) -> anyhow::Result<()> {
    let project = open(cli, Some(&args.bootstrap.model)).await?;
    let options = SimulateOptions {
        bootstrap: args.bootstrap.options(),
        seed_labels: args.seed_labels,
        strategy: match args.strategy {
            StrategyArg::Random => Strategy::Random,
            StrategyArg::Uncertainty => Strategy::Uncertainty,
        },
        human_budget: args.human_budget,
        human_per_iteration: args.human_per_iteration,
        seed: args.bootstrap.model.seed,
        corrupt: match (args.corrupt_iteration, args.corrupt_share) {
            (Some(iteration), Some(share)) => {
                anyhow::ensure!(
                    (0.0..=1.0).contains(&share),
                    "--corrupt-share {share} is not in 0..1"
                );
                Some(Corruption { iteration, share, seed: args.bootstrap.model.seed })
            }
            _ => None,
        },
    };
    if let Some(on) = args.auto_quarantine {
        let mut s = project.settings().await?;
        s.auto_quarantine = on;
        project.set_settings(&s).await?;
    }
    let rows = project
        .simulate(&options, BarSink::new(), cancel_on_ctrl_c())
        .await
        .context("simulation failed")?;
    project.close().await;
    if cli.json {
        println!("{}", serde_json::json!({ "rows": rows }));
        return Ok(());
    }
    println!(
        "gold split: the current model on the frozen gold split (what the Training view shows);"
    );
    println!("pool: on the hidden gold of every pair the model was not trained on");
    println!(
        "{:>9} {:<12} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>8}",
        "iteration",
        "status",
        "human",
        "total",
        "split P",
        "R",
        "F1",
        "pool P",
        "R",
        "F1",
        "pairs",
        "auto P",
        "seconds"
    );
    for r in &rows {
        println!(
            "{:>9} {:<12} {:>6} {:>6} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>9} {:>8.1}",
            r.iteration,
            r.status,
            r.human_labels,
            r.total_labels,
            pct(r.precision),
            pct(r.recall),
            pct(r.f1),
            pct(r.pool_precision),
            pct(r.pool_recall),
            pct(r.pool_f1),
            r.pool_pairs,
            r.auto_precision.map_or("-".to_string(), pct),
            r.seconds
        );
    }
    Ok(())
}

pub async fn embed(cli: &Cli, args: &EmbedArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let out = args.out.clone().unwrap_or_else(|| project.default_char_vectors_path());
    let options = emrel_engine::EmbedOptions {
        dim: args.dim,
        window: args.window,
        negatives: args.negatives,
        epochs: args.epochs,
        seed: args.seed,
        ..emrel_engine::EmbedOptions::default()
    };
    let device = match args.device {
        Device::Cpu => "cpu",
        Device::Cuda => "cuda",
        Device::Auto => "auto",
    };
    let spinner = crate::progress::spinner("skip-gram pretraining");
    let r = project.embed(device, &options, &out).await.context("pretraining failed")?;
    spinner.finish_and_clear();
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "wrote {} character vectors of dimension {} to {} ({} sentences, {} pairs, final loss {:.4}, {:.1}s); train with --char-vectors {}",
            r.vocab,
            r.dims,
            r.path.display(),
            r.sentences,
            r.pairs,
            r.final_loss,
            r.seconds,
            r.path.display()
        );
    }
    Ok(())
}

pub async fn rollback(cli: &Cli, args: &RollbackArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let r = project.rollback(args.to, BarSink::new(), cancel_on_ctrl_c()).await?;
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "rolled back iterations {:?}: {} automatic labels reverted; current model {}",
            r.iterations,
            r.reverted_labels,
            r.current_model.map_or("none".to_string(), |v| format!("v{v}"))
        );
    }
    Ok(())
}

pub async fn jobs(cli: &Cli, args: &JobsArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    if let Some(id) = args.resume {
        let job = project.resume_job(JobId(id), BarSink::new(), cancel_on_ctrl_c()).await?;
        let r = project.store().job(job).await?;
        println!("job {} {}", r.id, r.status.as_str());
        project.close().await;
        return Ok(());
    }
    let jobs = project.jobs().await?;
    project.close().await;
    if cli.json {
        let v: Vec<_> = jobs
            .iter()
            .map(|j| {
                serde_json::json!({
                    "job": j.id, "kind": j.kind, "status": j.status.as_str(),
                    "attempts": j.attempts, "message": j.message, "created_at": j.created_at,
                    "finished_at": j.finished_at,
                })
            })
            .collect();
        println!("{}", serde_json::to_string(&v)?);
        return Ok(());
    }
    println!("{:>5} {:<10} {:<12} {:>8}  message", "job", "kind", "status", "attempts");
    for j in jobs {
        println!(
            "{:>5} {:<10} {:<12} {:>8}  {}",
            j.id,
            j.kind,
            j.status.as_str(),
            j.attempts,
            j.message.unwrap_or_default()
        );
    }
    Ok(())
}
