//! Corpus use cases outside the labeling loop, shared by the CLI (`emrel demo`, `import`,
//! `export`) and the desktop app (first-start demo project, the import and export views):
//! creating the demo project, importing a corpus in one of the supported formats (read with
//! `emrel-formats`, checked with `prepare_document`, written with `Store::import` in one
//! transaction) and exporting the corpus with filters. Each reports its progress to a callback
//! (a terminal bar, window events, or nothing).

use std::collections::BTreeMap;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use emrel_core::corpus::PreparedLabel;
use emrel_core::label::Provenance;
use emrel_core::{DocumentInput, LabelSource, PreparedDocument, Schema, prepare_document};
use emrel_formats::export::{CSV_HEADER, ExportSentence, csv_rows, write_jsonl_line};
use emrel_store::{ExportFilter, ImportSummary, Location, Store, StoreError};
use serde::Serialize;

use crate::error::{EngineError, Result};

/// The step a corpus operation is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CorpusPhase {
    /// Generating the demo corpus.
    Generating,
    /// Reading files, or reading the project for an export.
    Reading,
    /// Checking documents against the schema (`done` of `total` documents).
    Checking,
    /// Writing documents into the project.
    Importing,
    /// Writing the export (`done` of `total` documents).
    Writing,
}

impl CorpusPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            CorpusPhase::Generating => "generating",
            CorpusPhase::Reading => "reading",
            CorpusPhase::Checking => "checking",
            CorpusPhase::Importing => "importing",
            CorpusPhase::Writing => "writing",
        }
    }
}

/// `progress(phase, done, total)`.
pub type CorpusProgress<'a> = &'a mut (dyn FnMut(CorpusPhase, usize, usize) + Send);

/// The formats a corpus can be imported from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportFormat {
    /// CCKS 2017 task 2 folders (and the test-gold CSV).
    Ccks2017,
    /// brat standoff folders (`.txt` + `.ann`).
    Brat,
    /// EMRel's own JSONL (what an export writes).
    Jsonl,
}

impl ImportFormat {
    /// The name recorded with the imported documents.
    pub fn as_str(self) -> &'static str {
        match self {
            ImportFormat::Ccks2017 => "ccks2017",
            ImportFormat::Brat => "brat",
            ImportFormat::Jsonl => "jsonl",
        }
    }
}

/// What to import and how.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportOptions {
    pub format: ImportFormat,
    /// Files or folders (searched recursively).
    pub paths: Vec<PathBuf>,
    /// The source brat `R` relations get: [`LabelSource::Human`] labels, or
    /// [`LabelSource::Gold`] kept hidden for the simulation.
    pub relations_as: LabelSource,
    /// Skip bad records (each is reported in the summary) instead of stopping at the first.
    pub lenient: bool,
    /// The corpus is annotated exhaustively (every relation present is marked, as in brat
    /// corpora such as Ruijin, or CMeIE-style JSONL): each candidate pair without a relation
    /// becomes a `none` label of source `relations_as`.
    pub unlabeled_pairs_none: bool,
}

impl ImportOptions {
    pub fn new(format: ImportFormat, paths: Vec<PathBuf>) -> ImportOptions {
        ImportOptions {
            format,
            paths,
            relations_as: LabelSource::Human,
            lenient: false,
            unlabeled_pairs_none: false,
        }
    }
}

/// Adds a `none` label of `source` for every candidate pair of `doc` that has no label.
fn label_unlabeled_pairs_none(doc: &mut PreparedDocument, source: LabelSource) {
    let labeled: std::collections::HashSet<(usize, usize, usize)> =
        doc.labels.iter().map(|l| (l.sentence, l.head, l.tail)).collect();
    for (si, sentence) in doc.sentences.iter().enumerate() {
        for &(head, tail) in &sentence.pairs {
            if !labeled.contains(&(si, head, tail)) {
                doc.labels.push(PreparedLabel {
                    sentence: si,
                    head,
                    tail,
                    relation: emrel_core::NONE.to_string(),
                    provenance: Provenance::new(source),
                });
            }
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ImportOutcome {
    pub summary: ImportSummary,
    /// brat annotation lines of other kinds (events, attributes, notes) that were skipped.
    pub skipped_lines: usize,
}

/// The demo corpus: how many sentences, from which seed (the same seed gives the same corpus).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoOptions {
    pub sentences: usize,
    pub seed: u64,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions { sentences: 6000, seed: 42 }
    }
}

/// The formats a corpus can be exported to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportFormat {
    /// One JSON object per sentence, with entities and labels (re-importable).
    Jsonl,
    /// A folder of brat `.txt`/`.ann` pairs.
    Brat,
    /// One row per label.
    Csv,
}

/// Where and what to export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub format: ExportFormat,
    /// A file (JSONL, CSV) or a folder (brat).
    pub out: PathBuf,
    pub filter: ExportFilter,
    /// Replace an existing destination (the CLI's `--force`, or a destination the user confirmed
    /// in the desktop); without it an existing file or non-empty folder is refused.
    pub overwrite: bool,
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportSummary {
    pub out: PathBuf,
    pub documents: usize,
    pub sentences: usize,
    pub labels: usize,
    /// Labels written per source (`seed`, `human`, `auto`, `gold`).
    pub by_source: BTreeMap<String, usize>,
    /// brat only: documents whose name could not be a file name as it is (path escapes,
    /// control characters, or a name that another document's file already took), with the
    /// relative path written instead.
    pub renamed: Vec<(String, String)>,
}

/// Reads a corpus in `format` from files or folders. Returns the documents and, for brat, the
/// number of annotation lines of other kinds that were skipped.
pub fn read_corpus(options: &ImportOptions) -> Result<(Vec<DocumentInput>, usize)> {
    Ok(match options.format {
        ImportFormat::Ccks2017 => (emrel_formats::ccks2017::read(&options.paths)?, 0),
        ImportFormat::Jsonl => (emrel_formats::jsonl::read(&options.paths)?, 0),
        ImportFormat::Brat => {
            let r = emrel_formats::brat::read(&options.paths, options.relations_as)?;
            (r.documents, r.skipped_lines.values().sum())
        }
    })
}

/// Checks documents against the schema and imports them in one transaction: every document is
/// added or none (a strict import stops at the first bad record; a lenient one skips it and
/// lists it in the summary). Documents already present with the same content are skipped.
/// `unlabeled_none`: every candidate pair without a relation becomes a `none` label of this
/// source (an exhaustively annotated corpus).
pub async fn import_documents(
    store: &Store,
    docs: Vec<DocumentInput>,
    format: &str,
    lenient: bool,
    unlabeled_none: Option<LabelSource>,
    progress: CorpusProgress<'_>,
) -> Result<ImportSummary> {
    let total = docs.len();
    let mut prepared: Vec<PreparedDocument> = Vec::with_capacity(total);
    progress(CorpusPhase::Checking, 0, total);
    for (i, d) in docs.into_iter().enumerate() {
        let mut doc = prepare_document(store.schema(), d, lenient)?;
        if let Some(source) = unlabeled_none {
            label_unlabeled_pairs_none(&mut doc, source);
        }
        prepared.push(doc);
        if (i + 1) % 64 == 0 || i + 1 == total {
            progress(CorpusPhase::Checking, i + 1, total);
        }
    }
    let mut report = |done: usize, total: usize| progress(CorpusPhase::Importing, done, total);
    Ok(store.import(&prepared, format, &mut report).await?)
}

/// Reads a corpus and imports it into the project (see [`import_documents`]).
pub async fn import(
    store: &Store,
    options: &ImportOptions,
    progress: CorpusProgress<'_>,
) -> Result<ImportOutcome> {
    if options.unlabeled_pairs_none && options.format == ImportFormat::Ccks2017 {
        return Err(EngineError::Invalid(
            "CCKS 2017 folders mark no relations: labeling their unlabeled pairs `none` would label every pair `none`".into(),
        ));
    }
    progress(CorpusPhase::Reading, 0, 1);
    let (docs, skipped_lines) = read_corpus(options)?;
    let unlabeled_none = options.unlabeled_pairs_none.then_some(options.relations_as);
    let summary = import_documents(
        store,
        docs,
        options.format.as_str(),
        options.lenient,
        unlabeled_none,
        progress,
    )
    .await?;
    Ok(ImportOutcome { summary, skipped_lines })
}

/// Opens the project at `location`, or creates it with `name` and `schema` when there is none.
pub async fn open_or_create(
    location: impl Into<Location>,
    name: &str,
    schema: Schema,
) -> Result<Store> {
    let location = location.into();
    match Store::open(&location).await {
        Ok(s) => Ok(s),
        Err(StoreError::NoProject(_)) => Ok(Store::create(location, name, schema).await?),
        Err(e) => Err(e.into()),
    }
}

/// Adds the synthetic EMR corpus (the paper's entity types and relations; its labels are gold,
/// kept hidden) to the project.
pub async fn add_demo(
    store: &Store,
    options: DemoOptions,
    progress: CorpusProgress<'_>,
) -> Result<ImportSummary> {
    progress(CorpusPhase::Generating, 0, 1);
    let docs = emrel_formats::demo::generate(options.sentences, options.seed);
    import_documents(store, docs, "demo", false, None, progress).await
}

/// The demo project: opens the project at `location` (creating it with the paper's schema and
/// `name` when there is none) and adds the demo corpus to it.
pub async fn demo(
    location: impl Into<Location>,
    name: &str,
    options: DemoOptions,
    progress: CorpusProgress<'_>,
) -> Result<ImportSummary> {
    let store = open_or_create(location, name, Schema::paper_default()).await?;
    let outcome = add_demo(&store, options, progress).await;
    store.close().await;
    outcome
}

fn count(s: &ExportSentence, summary: &mut ExportSummary) {
    summary.sentences += 1;
    summary.labels += s.labels.len();
    for l in &s.labels {
        *summary.by_source.entry(l.source.clone()).or_insert(0) += 1;
    }
}

fn file_error(action: &'static str, path: &Path, e: impl std::fmt::Display) -> EngineError {
    EngineError::File { action, path: path.display().to_string(), message: e.to_string() }
}

/// The project's own files: its database, the database's WAL and shared-memory files, and its
/// model folder (of a project on a server: the model folder). An export must never write over
/// them.
fn project_files(store: &Store) -> Vec<PathBuf> {
    let models = absolute(&store.models_dir());
    let Some(db) = store.path() else { return vec![models] };
    let db = absolute(db);
    let with = |suffix: &str| {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        PathBuf::from(p)
    };
    vec![with(""), with("-wal"), with("-shm"), with("-journal"), models]
}

/// `path` made absolute with symbolic links resolved as far as it exists, so that two spellings
/// of one file compare equal (`./p.db`, `dir/../p.db`, a link to it).
fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = std::fs::canonicalize(path) {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => {
            let parent = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
            absolute(parent).join(name)
        }
        _ => std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()),
    }
}

/// Refuses a destination that is or lies inside one of the project's own files, and an
/// existing destination unless the caller asked to overwrite it.
fn check_destination(store: &Store, options: &ExportOptions) -> Result<()> {
    let out = absolute(&options.out);
    for own in project_files(store) {
        // Inside the model folder counts too. A brat folder may contain the database (it may be
        // the database's own folder): its files are checked one by one as they are written.
        if out == own || out.starts_with(&own) {
            return Err(EngineError::Invalid(format!(
                "{} is this project's own file ({}): choose another destination",
                options.out.display(),
                own.display()
            )));
        }
    }
    if options.overwrite {
        return Ok(());
    }
    let exists = match options.format {
        ExportFormat::Brat => std::fs::read_dir(&options.out).is_ok_and(|mut d| d.next().is_some()),
        ExportFormat::Jsonl | ExportFormat::Csv => options.out.exists(),
    };
    if exists {
        return Err(EngineError::Invalid(format!(
            "{} already exists: choose another destination or overwrite it (--force)",
            options.out.display()
        )));
    }
    Ok(())
}

/// Writes a file through a temporary file in the same folder that is flushed to disk and then
/// renamed over `path`: a kill or a full disk leaves either the old file or the whole new one.
fn write_atomically(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let err = |e: &dyn std::fmt::Display| file_error("write", path, e);
    let tmp = tempfile::Builder::new()
        .prefix(".emrel-export-")
        .tempfile_in(&dir)
        .map_err(|e| file_error("create", path, e))?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        fill(&mut w).map_err(|e| err(&e))?;
        w.flush().map_err(|e| err(&e))?;
    }
    tmp.as_file().sync_all().map_err(|e| err(&e))?;
    tmp.persist(path).map_err(|e| err(&e.error))?;
    // The rename itself is durable once the folder is.
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// The relative paths (without extension) the documents are written to in a brat folder: safe
/// names (see [`emrel_formats::brat::safe_relative_name`]), made unique by a `~2`, `~3` …
/// suffix in document order when two documents would share a file.
fn brat_names(names: &[&str]) -> Vec<String> {
    let mut taken = std::collections::BTreeSet::new();
    names
        .iter()
        .map(|n| {
            let base = emrel_formats::brat::safe_relative_name(n);
            let mut candidate = base.clone();
            let mut k = 1;
            // Case-folded, so that the folder is also safe on case-insensitive file systems.
            while !taken.insert(candidate.to_lowercase()) {
                k += 1;
                candidate = format!("{base}~{k}");
            }
            candidate
        })
        .collect()
}

/// Writes the project's corpus with the labels that pass the filter: JSONL (one sentence a
/// line), CSV (one label a row) or a brat folder. The project's own files are refused as
/// destinations, an existing destination is refused unless [`ExportOptions::overwrite`], the
/// corpus is read in one read transaction (one consistent snapshot), and every file is written
/// through a temporary file and renamed, so a failed or killed export leaves the previous
/// content in place.
pub async fn export(
    store: &Store,
    options: &ExportOptions,
    progress: CorpusProgress<'_>,
) -> Result<ExportSummary> {
    if let Some((a, b)) = options.filter.iterations
        && b < a
    {
        return Err(EngineError::Invalid(format!(
            "iteration range {a}..{b} ends before it starts"
        )));
    }
    check_destination(store, options)?;
    progress(CorpusPhase::Reading, 0, 1);
    let docs = store.export(&options.filter).await?;
    let total = docs.len();
    let out = &options.out;
    let mut summary = ExportSummary {
        out: out.clone(),
        documents: total,
        sentences: 0,
        labels: 0,
        by_source: BTreeMap::new(),
        renamed: Vec::new(),
    };
    match options.format {
        ExportFormat::Jsonl => {
            write_atomically(out, &mut |w| {
                for (i, d) in docs.iter().enumerate() {
                    for s in &d.sentences {
                        write_jsonl_line(w, s)?;
                    }
                    progress(CorpusPhase::Writing, i + 1, total);
                }
                Ok(())
            })?;
        }
        ExportFormat::Csv => {
            write_atomically(out, &mut |w| {
                let mut w = csv::Writer::from_writer(w);
                w.write_record(CSV_HEADER)?;
                for (i, d) in docs.iter().enumerate() {
                    for s in &d.sentences {
                        for row in csv_rows(s) {
                            w.write_record(&row)?;
                        }
                    }
                    progress(CorpusPhase::Writing, i + 1, total);
                }
                w.flush()
            })?;
        }
        ExportFormat::Brat => {
            std::fs::create_dir_all(out).map_err(|e| file_error("create", out, e))?;
            let own = project_files(store);
            let names = brat_names(&docs.iter().map(|d| d.name.as_str()).collect::<Vec<_>>());
            for (i, (d, name)) in docs.iter().zip(&names).enumerate() {
                if *name != d.name {
                    summary.renamed.push((d.name.clone(), name.clone()));
                }
                let base = out.join(name);
                if let Some(parent) = base.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| file_error("create", parent, e))?;
                }
                let ann = emrel_formats::brat::render_ann(d);
                for (ext, content) in [(".txt", d.text.as_str()), (".ann", ann.as_str())] {
                    let mut p = base.as_os_str().to_owned();
                    p.push(ext);
                    let p = PathBuf::from(p);
                    let abs = absolute(&p);
                    if own.iter().any(|o| abs == *o || abs.starts_with(o)) {
                        return Err(EngineError::Invalid(format!(
                            "{} is this project's own file: choose another destination",
                            p.display()
                        )));
                    }
                    write_atomically(&p, &mut |w| w.write_all(content.as_bytes()))?;
                }
                progress(CorpusPhase::Writing, i + 1, total);
            }
        }
    }
    for d in &docs {
        for s in &d.sentences {
            count(s, &mut summary);
        }
    }
    Ok(summary)
}
