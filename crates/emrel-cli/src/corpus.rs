//! Corpus verbs: init, demo, import, stats, export.

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use emrel_core::{DocumentInput, LabelSource, PreparedDocument, Schema, prepare_document};
use emrel_formats::export::{CSV_HEADER, csv_rows, write_jsonl_line};
use emrel_store::{ExportFilter, Store};

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

fn project_name(cli: &Cli) -> String {
    cli.project
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_else(|| "emrel".into())
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
        println!("{}", serde_json::json!({"project": cli.project, "schema": s.name}));
    } else {
        println!(
            "created {} with schema {} ({} entity types, {} relations)",
            cli.project.display(),
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

fn prepare_all(
    schema: &Schema,
    docs: Vec<DocumentInput>,
    lenient: bool,
) -> anyhow::Result<Vec<PreparedDocument>> {
    let pb = bar(docs.len() as u64, "checking");
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        out.push(prepare_document(schema, d, lenient)?);
        pb.inc(1);
    }
    pb.finish_and_clear();
    Ok(out)
}

async fn store_docs(
    cli: &Cli,
    store: &Store,
    prepared: Vec<PreparedDocument>,
    format: &str,
    skipped_lines: usize,
) -> anyhow::Result<()> {
    let pb = bar(prepared.len() as u64, "importing");
    let summary = store
        .import(&prepared, format, &mut |done, _| pb.set_position(done as u64))
        .await
        .context("import failed; the database is unchanged")?;
    pb.finish_and_clear();
    for s in &summary.skipped {
        eprintln!("skipped: {s}");
    }
    if cli.json {
        println!("{}", serde_json::to_string(&summary)?);
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
    let store = match Store::open(&cli.project).await {
        Ok(s) => s,
        Err(emrel_store::StoreError::NoProject(_)) => {
            Store::create(&cli.project, &project_name(cli), Schema::paper_default()).await?
        }
        Err(e) => return Err(e.into()),
    };
    let docs = emrel_formats::demo::generate(args.sentences, args.seed);
    let prepared = prepare_all(store.schema(), docs, false)?;
    store_docs(cli, &store, prepared, "demo", 0).await?;
    store.close().await;
    Ok(())
}

pub async fn import(cli: &Cli, args: &ImportArgs) -> anyhow::Result<()> {
    let store = open(cli).await?;
    let (docs, skipped_lines) = match args.format {
        ImportFormat::Ccks2017 => (emrel_formats::ccks2017::read(&args.paths)?, 0),
        ImportFormat::Jsonl => (emrel_formats::jsonl::read(&args.paths)?, 0),
        ImportFormat::Brat => {
            let source = match args.relations_as {
                RelationsAs::Human => LabelSource::Human,
                RelationsAs::Gold => LabelSource::Gold,
            };
            let r = emrel_formats::brat::read(&args.paths, source)?;
            (r.documents, r.skipped_lines.values().sum())
        }
    };
    let format = match args.format {
        ImportFormat::Ccks2017 => "ccks2017",
        ImportFormat::Brat => "brat",
        ImportFormat::Jsonl => "jsonl",
    };
    let prepared = prepare_all(store.schema(), docs, args.lenient)?;
    store_docs(cli, &store, prepared, format, skipped_lines).await?;
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
    let docs = store.export(&filter).await?;
    store.close().await;
    let pb = bar(docs.len() as u64, "exporting");
    let mut sentences = 0;
    let mut labels = 0;
    let out = &args.out;
    let create = |p: &Path| {
        std::fs::File::create(p).with_context(|| format!("cannot create {}", p.display()))
    };
    match args.format {
        ExportFormat::Jsonl => {
            let mut w = BufWriter::new(create(out)?);
            for d in &docs {
                for s in &d.sentences {
                    write_jsonl_line(&mut w, s)?;
                    sentences += 1;
                    labels += s.labels.len();
                }
                pb.inc(1);
            }
            w.flush()?;
        }
        ExportFormat::Csv => {
            let mut w = csv::Writer::from_writer(BufWriter::new(create(out)?));
            w.write_record(CSV_HEADER)?;
            for d in &docs {
                for s in &d.sentences {
                    for row in csv_rows(s) {
                        w.write_record(&row)?;
                        labels += 1;
                    }
                    sentences += 1;
                }
                pb.inc(1);
            }
            w.flush()?;
        }
        ExportFormat::Brat => {
            std::fs::create_dir_all(out)
                .with_context(|| format!("cannot create {}", out.display()))?;
            for d in &docs {
                emrel_formats::brat::write(out, d)
                    .with_context(|| format!("cannot write {}", out.join(&d.name).display()))?;
                sentences += d.sentences.len();
                labels += d.sentences.iter().map(|s| s.labels.len()).sum::<usize>();
                pb.inc(1);
            }
        }
    }
    pb.finish_and_clear();
    if cli.json {
        println!(
            "{}",
            serde_json::json!({"out": out, "documents": docs.len(), "sentences": sentences, "labels": labels})
        );
    } else {
        println!(
            "wrote {} documents, {sentences} sentences, {labels} labels to {}",
            docs.len(),
            out.display()
        );
    }
    Ok(())
}
