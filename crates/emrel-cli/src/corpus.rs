//! Corpus verbs: init, demo, import, stats, export.

//! The work itself is `emrel_engine::corpus`, which the desktop app calls too; this file parses
//! the arguments, draws the progress bars and prints the summaries.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use emrel_core::{LabelSource, Schema};
use emrel_engine::EngineError;
use emrel_engine::corpus::{self, CorpusPhase, DemoOptions};
use emrel_store::{ExportFilter, ImportSummary, Location, Store};
use indicatif::ProgressBar;

use crate::Cli;
use crate::progress::bar;

#[derive(Args, Debug)]
pub struct InitArgs {
    /// Schema file (TOML or JSON); the paper's Table 3 schema when absent.
    #[arg(long)]
    schema: Option<PathBuf>,
    /// Project name (the file stem when absent).
    #[arg(long)]
    name: Option<String>,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Number of sentences to generate.
    #[arg(long, default_value_t = 6000)]
    sentences: usize,
    /// Random seed; the same seed gives the same corpus.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportFormat {
    Ccks2017,
    Brat,
    Jsonl,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelationsAs {
    Human,
    Gold,
}

#[derive(Args, Debug)]
pub struct ImportArgs {
    #[arg(long, value_enum)]
    format: ImportFormat,
    /// Files or folders (searched recursively).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// Provenance given to brat `R` relations: human labels, or gold kept hidden for simulation.
    #[arg(long, value_enum, default_value = "human")]
    relations_as: RelationsAs,
    /// Skip bad records (each is reported) instead of stopping at the first one.
    #[arg(long)]
    lenient: bool,
    /// `none`: the corpus marks every relation present (brat corpora such as Ruijin, CMeIE-style
    /// JSONL), so each candidate pair without one becomes a `none` label of the
    /// --relations-as source; `unlabeled` (default): such pairs stay unlabeled.
    #[arg(long, value_enum, default_value = "unlabeled")]
    unlabeled_pairs: UnlabeledPairs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnlabeledPairs {
    Unlabeled,
    None,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Jsonl,
    Brat,
    Csv,
}

#[derive(Args, Debug)]
pub struct ExportArgs {
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Output file (jsonl, csv) or folder (brat).
    #[arg(long)]
    out: PathBuf,
    /// Keep labels of these sources only (seed, human, gold, auto); repeat or separate by commas.
    #[arg(long, value_delimiter = ',')]
    source: Vec<String>,
    /// Keep auto labels with at least this probability (labels given by people count as 1.0).
    #[arg(long)]
    min_probability: Option<f64>,
    /// Keep only auto labels of iterations in this range, e.g. `2..5` or `3`.
    #[arg(long)]
    iterations: Option<String>,
    /// Replace an existing destination (it is replaced whole, through a temporary file, only
    /// once the export has been written).
    #[arg(long)]
    force: bool,
}

#[derive(Args, Debug)]
pub struct CopyArgs {
    /// The project to copy (default: `--project`).
    #[arg(long)]
    from: Option<Location>,
    /// Where the copy goes: a new SQLite file, or an empty PostgreSQL database (`postgres://…`).
    #[arg(long)]
    to: Location,
}

fn load_schema(path: &Path) -> anyhow::Result<Schema> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read schema file {}", path.display()))?;
    let schema = if path.extension().is_some_and(|e| e == "json") {
        Schema::from_json(&text)
    } else {
        Schema::from_toml(&text)
    };
    schema.with_context(|| format!("{}", path.display()))
}

/// A new project's default name: the file's stem, or the database's name in a URL.
fn project_name(cli: &Cli) -> String {
    let name = match &cli.project {
        Location::File(path) => path.file_stem().map(|s| s.to_string_lossy().to_string()),
        Location::Server(url) => {
            let path = url.split_once("://").map_or("", |(_, rest)| rest);
            let path = path.split('?').next().unwrap_or_default();
            path.rsplit_once('/').map(|(_, db)| db.to_string()).filter(|db| !db.is_empty())
        }
    };
    name.unwrap_or_else(|| "emrel".into())
}

pub async fn init(cli: &Cli, args: &InitArgs) -> anyhow::Result<()> {
    let schema = match &args.schema {
        Some(p) => load_schema(p)?,
        None => Schema::paper_default(),
    };
    let name = args.name.clone().unwrap_or_else(|| project_name(cli));
    let store = Store::create(&cli.project, &name, schema).await?;
    let s = store.schema();
    if cli.json {
        println!("{}", serde_json::json!({"project": cli.project.to_string(), "schema": s.name}));
    } else {
        println!(
            "created {} with schema {} ({} entity types, {} relations)",
            cli.project,
            s.name,
            s.entity_types.len(),
            s.relations.len()
        );
    }
    store.close().await;
    Ok(())
}

/// Opens an existing project.
async fn open(cli: &Cli) -> anyhow::Result<Store> {
    Ok(Store::open(&cli.project).await?)
}

/// Terminal progress for the engine's corpus operations: one bar per phase (nothing when
/// output is piped).
#[derive(Default)]
struct Bars {
    current: Option<(CorpusPhase, ProgressBar)>,
}

impl Bars {
    fn update(&mut self, phase: CorpusPhase, done: usize, total: usize) {
        let label = match phase {
            CorpusPhase::Checking => "checking",
            CorpusPhase::Importing => "importing",
            CorpusPhase::Writing => "exporting",
            CorpusPhase::Generating | CorpusPhase::Reading => return,
        };
        if self.current.as_ref().is_none_or(|(p, _)| *p != phase) {
            self.finish();
            self.current = Some((phase, bar(total as u64, label)));
        }
        if let Some((_, pb)) = &self.current {
            pb.set_length(total as u64);
            pb.set_position(done as u64);
        }
    }

    fn finish(&mut self) {
        if let Some((_, pb)) = self.current.take() {
            pb.finish_and_clear();
        }
    }
}

/// Store errors of an import (the transaction was rolled back) say that nothing changed.
fn import_error(e: EngineError) -> anyhow::Error {
    match e {
        EngineError::Store(_) => {
            anyhow::Error::new(e).context("import failed; the database is unchanged")
        }
        other => other.into(),
    }
}

fn print_import(cli: &Cli, summary: &ImportSummary, skipped_lines: usize) -> anyhow::Result<()> {
    for s in &summary.skipped {
        eprintln!("skipped: {s}");
    }
    if cli.json {
        println!("{}", serde_json::to_string(summary)?);
    } else {
        println!(
            "imported {} documents ({} already present): {} sentences, {} entities, {} pairs, {} labels",
            summary.documents_added,
            summary.documents_unchanged,
            summary.sentences,
            summary.entities,
            summary.pairs,
            summary.labels
        );
        if summary.cross_sentence_relations > 0 {
            println!(
                "{} relations crossed a sentence boundary and were not imported",
                summary.cross_sentence_relations
            );
        }
        if !summary.skipped.is_empty() {
            println!("{} bad records skipped (--lenient)", summary.skipped.len());
        }
        if skipped_lines > 0 {
            println!(
                "{skipped_lines} annotation lines of other kinds (events, attributes, notes) skipped"
            );
        }
    }
    Ok(())
}

pub async fn demo(cli: &Cli, args: &DemoArgs) -> anyhow::Result<()> {
    let options = DemoOptions { sentences: args.sentences, seed: args.seed };
    let store =
        corpus::open_or_create(&cli.project, &project_name(cli), Schema::paper_default()).await?;
    let mut bars = Bars::default();
    let summary = corpus::add_demo(&store, options, &mut |p, d, t| bars.update(p, d, t)).await;
    bars.finish();
    print_import(cli, &summary.map_err(import_error)?, 0)?;
    store.close().await;
    Ok(())
}

pub async fn import(cli: &Cli, args: &ImportArgs) -> anyhow::Result<()> {
    let store = open(cli).await?;
    let options = corpus::ImportOptions {
        format: match args.format {
            ImportFormat::Ccks2017 => corpus::ImportFormat::Ccks2017,
            ImportFormat::Brat => corpus::ImportFormat::Brat,
            ImportFormat::Jsonl => corpus::ImportFormat::Jsonl,
        },
        paths: args.paths.clone(),
        relations_as: match args.relations_as {
            RelationsAs::Human => LabelSource::Human,
            RelationsAs::Gold => LabelSource::Gold,
        },
        lenient: args.lenient,
        unlabeled_pairs_none: args.unlabeled_pairs == UnlabeledPairs::None,
    };
    let mut bars = Bars::default();
    let outcome = corpus::import(&store, &options, &mut |p, d, t| bars.update(p, d, t)).await;
    bars.finish();
    let outcome = outcome.map_err(import_error)?;
    print_import(cli, &outcome.summary, outcome.skipped_lines)?;
    store.close().await;
    Ok(())
}

pub async fn stats(cli: &Cli) -> anyhow::Result<()> {
    let store = open(cli).await?;
    let s = store.stats().await?;
    store.close().await;
    if cli.json {
        println!("{}", serde_json::to_string_pretty(&s)?);
        return Ok(());
    }
    println!(
        "schema {}: {} documents, {} sentences, {} entities, {} pairs ({} unlabeled)",
        s.schema, s.documents, s.sentences, s.entities, s.pairs, s.unlabeled_pairs
    );
    println!();
    println!("{:<24} {:>8}", "entity type", "count");
    for (t, n) in &s.entities_per_type {
        println!("{t:<24} {n:>8}");
    }
    println!();
    println!(
        "{:<24} {:>8}  {:<16} {:>8} {:>8}",
        "pair category", "pairs", "relation", "labels", "gold"
    );
    for c in &s.categories {
        let mut rels: Vec<&String> = c.labels.keys().chain(c.gold.keys()).collect();
        rels.sort();
        rels.dedup();
        if rels.is_empty() {
            println!("{:<24} {:>8}", c.category, c.pairs);
        }
        for (i, r) in rels.iter().enumerate() {
            let (cat, pairs) = if i == 0 {
                (c.category.as_str(), c.pairs.to_string())
            } else {
                ("", String::new())
            };
            println!(
                "{cat:<24} {pairs:>8}  {r:<16} {:>8} {:>8}",
                c.labels.get(*r).copied().unwrap_or(0),
                c.gold.get(*r).copied().unwrap_or(0)
            );
        }
    }
    println!();
    println!("{:<16} {:>8} {:>8} {:>8} {:>8}", "relation", "seed", "human", "auto", "gold");
    for (r, by) in &s.labels {
        let n = |k: &str| by.get(k).copied().unwrap_or(0);
        println!("{r:<16} {:>8} {:>8} {:>8} {:>8}", n("seed"), n("human"), n("auto"), n("gold"));
    }
    if s.cross_sentence_relations > 0 {
        println!();
        println!(
            "{} relations crossed a sentence boundary and were not imported",
            s.cross_sentence_relations
        );
    }
    Ok(())
}

fn parse_iterations(s: &str) -> anyhow::Result<(i64, i64)> {
    let parse = |x: &str| x.trim().parse::<i64>().with_context(|| format!("bad iteration `{x}`"));
    match s.split_once("..") {
        Some((a, b)) => {
            let a = if a.is_empty() { 0 } else { parse(a)? };
            let b = if b.is_empty() { i64::MAX } else { parse(b.trim_start_matches('='))? };
            if b < a {
                bail!("iteration range {s} ends before it starts");
            }
            Ok((a, b))
        }
        None => {
            let i = parse(s)?;
            Ok((i, i))
        }
    }
}

pub async fn export(cli: &Cli, args: &ExportArgs) -> anyhow::Result<()> {
    let store = open(cli).await?;
    let sources =
        args.source.iter().map(|s| s.parse::<LabelSource>()).collect::<Result<Vec<_>, _>>()?;
    let filter = ExportFilter {
        sources,
        min_probability: args.min_probability,
        iterations: args.iterations.as_deref().map(parse_iterations).transpose()?,
    };
    let options = corpus::ExportOptions {
        format: match args.format {
            ExportFormat::Jsonl => corpus::ExportFormat::Jsonl,
            ExportFormat::Brat => corpus::ExportFormat::Brat,
            ExportFormat::Csv => corpus::ExportFormat::Csv,
        },
        out: args.out.clone(),
        filter,
        overwrite: args.force,
    };
    let mut bars = Bars::default();
    let written = corpus::export(&store, &options, &mut |p, d, t| bars.update(p, d, t)).await;
    bars.finish();
    store.close().await;
    let written = written?;
    let out = &args.out;
    if cli.json {
        println!(
            "{}",
            serde_json::json!({"out": out, "renamed": written.renamed, "documents": written.documents, "sentences": written.sentences, "labels": written.labels})
        );
    } else {
        for (name, path) in &written.renamed {
            println!("document {name} written as {path}");
        }
        println!(
            "wrote {} documents, {} sentences, {} labels to {}",
            written.documents,
            written.sentences,
            written.labels,
            out.display()
        );
    }
    Ok(())
}

/// `emrel copy`: the whole project, every table with its ids and the model folders, into a new
/// file or an empty database (a solo project becomes a team project, or a team project an
/// archive file).
pub async fn copy(cli: &Cli, args: &CopyArgs) -> anyhow::Result<()> {
    let from = args.from.clone().unwrap_or_else(|| cli.project.clone());
    let store = Store::open(&from).await?;
    let summary = store.copy_to(&args.to).await;
    store.close().await;
    let summary = summary.with_context(|| format!("cannot copy {from} to {}", args.to))?;
    if cli.json {
        let rows: serde_json::Map<String, serde_json::Value> =
            summary.rows.iter().map(|(t, n)| (t.clone(), (*n).into())).collect();
        let out = serde_json::json!({
            "from": from.to_string(),
            "to": args.to.to_string(),
            "rows": rows,
            "model_files": summary.model_files,
        });
        println!("{out}");
    } else {
        let total: usize = summary.rows.iter().map(|(_, n)| n).sum();
        println!(
            "copied {from} to {}: {total} rows in {} tables, {} model files",
            args.to,
            summary.rows.len(),
            summary.model_files
        );
    }
    Ok(())
}
