//! The `emrel` command line. Each verb is a thin layer over the library crates: it parses
//! arguments, calls one use case and prints the result (a table, or JSON with `--json`). Errors
//! end the process with a one-line cause and a non-zero exit code.

mod corpus;
mod engine;
mod label;
mod progress;
mod review;

use clap::{Parser, Subcommand};
use emrel_store::Location;

/// mimalloc keeps freed model intermediates for reuse; glibc's malloc unmaps and refaults them
/// (bench/README.md, "malloc").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser, Debug)]
#[command(name = "emrel", version, about = "Grow a relation-annotated corpus of Chinese EMRs")]
pub struct Cli {
    /// The project: a SQLite file, or a `postgres://` URL of a team project's database (libpq
    /// conventions: PG* variables, ~/.pgpass, sslmode; TLS verify-full beyond localhost).
    #[arg(long, global = true, env = "EMREL_PROJECT", default_value = "emrel.db")]
    project: Location,
    /// Print machine-readable JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create an empty project with the default schema (the paper's Table 3) or a schema file.
    Init(corpus::InitArgs),
    /// Create (or extend) a project with the synthetic demo corpus, gold labels hidden.
    Demo(corpus::DemoArgs),
    /// Import a corpus: CCKS 2017 folders/CSV, brat standoff, or EMRel JSONL.
    Import(corpus::ImportArgs),
    /// Label pairs from a file or standard input (`PAIR RELATION` lines); prints each label's
    /// event id once it is committed.
    Label(label::LabelArgs),
    /// Corpus statistics: pairs per category, labels per relation and source, entities per type.
    Stats,
    /// Export the corpus with every label's provenance.
    Export(corpus::ExportArgs),
    /// Copy a whole project to another store (a SQLite file or a PostgreSQL database), losslessly.
    Copy(corpus::CopyArgs),
    /// Train a model version on the current labels and make it the current model.
    Train(engine::TrainArgs),
    /// Gold-split precision, recall and F1 of a model version, overall and per relation.
    Eval(engine::EvalArgs),
    /// Run bootstrapping (the paper's Algorithm 1) headless on the project's labels.
    Bootstrap(engine::BootstrapArgs),
    /// Simulate annotators answering from gold labels while bootstrapping runs: a learning curve.
    Simulate(engine::SimulateArgs),
    /// Pretrain character embeddings on the project's text (skip-gram, word2vec text output).
    Embed(engine::EmbedArgs),
    /// Roll back bootstrapping iterations: revert their automatic labels, restore the model.
    Rollback(engine::RollbackArgs),
    /// List background jobs, or resume an interrupted one.
    Jobs(engine::JobsArgs),
    /// Drift metrics and alarms of each bootstrapping iteration.
    Drift(review::DriftArgs),
    /// Audit an iteration's automatic labels: judge a stratified sample, get estimated precision.
    Audit(review::AuditArgs),
    /// Accept or quarantine a bootstrapping iteration.
    Review(review::ReviewArgs),
    /// Set a relation's own admission threshold, or freeze it.
    Relation(review::RelationArgs),
    /// Inter-annotator agreement on pairs two or more people labeled: Cohen's, Fleiss' kappa,
    /// Krippendorff's alpha, per relation, with 95% bootstrap intervals.
    Agreement(review::AgreementArgs),
}

fn main() {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    if let Err(e) = runtime.block_on(run(cli)) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match &cli.command {
        Command::Init(a) => corpus::init(&cli, a).await,
        Command::Demo(a) => corpus::demo(&cli, a).await,
        Command::Import(a) => corpus::import(&cli, a).await,
        Command::Label(a) => label::label(&cli, a).await,
        Command::Stats => corpus::stats(&cli).await,
        Command::Export(a) => corpus::export(&cli, a).await,
        Command::Copy(a) => corpus::copy(&cli, a).await,
        Command::Train(a) => engine::train(&cli, a).await,
        Command::Eval(a) => engine::eval(&cli, a).await,
        Command::Bootstrap(a) => engine::bootstrap(&cli, a).await,
        Command::Simulate(a) => engine::simulate(&cli, a).await,
        Command::Embed(a) => engine::embed(&cli, a).await,
        Command::Rollback(a) => engine::rollback(&cli, a).await,
        Command::Jobs(a) => engine::jobs(&cli, a).await,
        Command::Drift(a) => review::drift(&cli, a).await,
        Command::Audit(a) => review::audit(&cli, a).await,
        Command::Review(a) => review::review(&cli, a).await,
        Command::Relation(a) => review::relation(&cli, a).await,
        Command::Agreement(a) => review::agreement(&cli, a).await,
    }
}
