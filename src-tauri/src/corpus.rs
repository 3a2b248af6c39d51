//! Corpus work the desktop app does outside the labeling loop: creating the demo project,
//! importing a corpus and exporting one. These are the same steps as the CLI's `demo`, `import`
//! and `export` verbs (read with `emrel-formats`, check with `prepare_document`, write with
//! `Store::import`; `Store::export` and the format writers), reporting progress to a callback
//! instead of a terminal bar. They move into `emrel-engine` once it offers them.

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use emrel_core::{DocumentInput, LabelSource, PreparedDocument, Schema, prepare_document};
use emrel_formats::export::{CSV_HEADER, csv_rows, write_jsonl_line};
use emrel_store::{ExportFilter, Store};

use crate::error::{Error, ErrorCode, Result};
use crate::views::{
    ExportFormat, ExportReport, ExportRequest, ImportFormat, ImportReport, ImportRequest,
};

/// Sentences of the demo project created on first start.
pub const DEMO_SENTENCES: usize = 6000;
const DEMO_SEED: u64 = 42;

/// `progress(phase, done, total)`.
pub type Progress<'a> = &'a mut (dyn FnMut(&str, usize, usize) + Send);

/// Creates the demo project at `path`: the paper's schema and the synthetic EMR corpus that
/// `emrel demo` generates (gold labels kept hidden).
pub async fn create_demo(path: &Path, sentences: usize, progress: Progress<'_>) -> Result<()> {
    let store = Store::create(path, "demo", Schema::paper_default()).await?;
    progress("generating", 0, 1);
    let docs = emrel_formats::demo::generate(sentences, DEMO_SEED);
    let outcome = store_documents(&store, docs, "demo", false, progress).await;
    store.close().await;
    outcome.map(|_| ())
}

/// Reads, checks and imports a corpus into the project at `store` in one transaction.
pub async fn import(
    store: &Store,
    req: &ImportRequest,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    if req.paths.is_empty() {
        return Err(Error::new(ErrorCode::Invalid, "choose a file or folder to import"));
    }
    let paths: Vec<PathBuf> = req.paths.iter().map(PathBuf::from).collect();
    progress("reading", 0, 1);
    let (docs, format) = match req.format {
        ImportFormat::Ccks2017 => (emrel_formats::ccks2017::read(&paths)?, "ccks2017"),
        ImportFormat::Jsonl => (emrel_formats::jsonl::read(&paths)?, "jsonl"),
        ImportFormat::Brat => {
            let source = if req.relations_as_gold { LabelSource::Gold } else { LabelSource::Human };
            (emrel_formats::brat::read(&paths, source)?.documents, "brat")
        }
    };
    if docs.is_empty() {
        return Err(Error::new(
            ErrorCode::Input,
            format!("no {format} documents found in {}", req.paths.join(", ")),
        ));
    }
    store_documents(store, docs, format, req.lenient, progress).await
}

async fn store_documents(
    store: &Store,
    docs: Vec<DocumentInput>,
    format: &str,
    lenient: bool,
    progress: Progress<'_>,
) -> Result<ImportReport> {
    let total = docs.len();
    let mut prepared: Vec<PreparedDocument> = Vec::with_capacity(total);
    for (i, d) in docs.into_iter().enumerate() {
        prepared.push(prepare_document(store.schema(), d, lenient)?);
        if i % 64 == 0 {
            progress("checking", i, total);
        }
    }
    let mut report = |done: usize, total: usize| progress("importing", done, total);
    let summary = store.import(&prepared, format, &mut report).await?;
    Ok(summary.into())
}

fn count(s: &emrel_formats::export::ExportSentence, report: &mut ExportReport) {
    report.sentences += 1;
    report.labels += s.labels.len();
    for l in &s.labels {
        *report.by_source.entry(l.source.clone()).or_insert(0) += 1;
    }
}

fn parse_sources(sources: &[String]) -> Result<Vec<LabelSource>> {
    sources
        .iter()
        .map(|s| {
            s.parse::<LabelSource>()
                .map_err(|e| Error::new(ErrorCode::Invalid, format!("label source `{s}`: {e}")))
        })
        .collect()
}

/// Writes the corpus with the labels that pass the request's filters.
pub async fn export(
    store: &Store,
    req: &ExportRequest,
    progress: Progress<'_>,
) -> Result<ExportReport> {
    let out = PathBuf::from(req.out.trim());
    if req.out.trim().is_empty() {
        return Err(Error::new(ErrorCode::Invalid, "choose where to write the export"));
    }
    if let Some((a, b)) = req.iterations
        && b < a
    {
        return Err(Error::new(
            ErrorCode::Invalid,
            format!("iteration range {a}..{b} ends before it starts"),
        ));
    }
    let filter = ExportFilter {
        sources: parse_sources(&req.sources)?,
        min_probability: req.min_probability,
        iterations: req.iterations,
    };
    progress("reading", 0, 1);
    let docs = store.export(&filter).await?;
    let total = docs.len();
    let mut report = ExportReport {
        out: out.display().to_string(),
        documents: total,
        sentences: 0,
        labels: 0,
        by_source: BTreeMap::new(),
    };
    let io = |e: std::io::Error| Error::io(&out, e);
    match req.format {
        ExportFormat::Jsonl => {
            let mut w = BufWriter::new(std::fs::File::create(&out).map_err(io)?);
            for (i, d) in docs.iter().enumerate() {
                for s in &d.sentences {
                    write_jsonl_line(&mut w, s).map_err(io)?;
                    count(s, &mut report);
                }
                progress("writing", i + 1, total);
            }
            w.flush().map_err(io)?;
        }
        ExportFormat::Csv => {
            let file = std::fs::File::create(&out).map_err(io)?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            let csv_err = |e: csv::Error| Error::io(&out, e);
            w.write_record(CSV_HEADER).map_err(csv_err)?;
            for (i, d) in docs.iter().enumerate() {
                for s in &d.sentences {
                    for row in csv_rows(s) {
                        w.write_record(&row).map_err(csv_err)?;
                    }
                    count(s, &mut report);
                }
                progress("writing", i + 1, total);
            }
            w.flush().map_err(io)?;
        }
        ExportFormat::Brat => {
            std::fs::create_dir_all(&out).map_err(io)?;
            for (i, d) in docs.iter().enumerate() {
                emrel_formats::brat::write(&out, d).map_err(io)?;
                for s in &d.sentences {
                    count(s, &mut report);
                }
                progress("writing", i + 1, total);
            }
        }
    }
    Ok(report)
}
