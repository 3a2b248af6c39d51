//! `emrel label`: labels from a file or standard input, one `PAIR RELATION` per line. Each label
//! is committed before its line is acknowledged on standard output (`PAIR EVENT`, or a JSON
//! object with `--json`), so whoever feeds it (a script, a spreadsheet export, another tool)
//! knows exactly which labels are stored should the process die half-way.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use emrel_engine::PairId;

use crate::Cli;

#[derive(Args, Debug)]
pub struct LabelArgs {
    /// File of `PAIR RELATION` lines (`-` or none: standard input). Blank lines and lines
    /// starting with `#` are skipped; the relation is a name, an alias or `none`.
    input: Option<PathBuf>,
    /// Annotator name recorded with each label.
    #[arg(long, env = "EMREL_ANNOTATOR", default_value = "cli")]
    annotator: String,
}

pub async fn label(cli: &Cli, args: &LabelArgs) -> anyhow::Result<()> {
    let project = crate::engine::open(cli, None).await?;
    let (name, reader): (String, Box<dyn BufRead>) = match &args.input {
        Some(p) if p.as_os_str() != "-" => {
            let f =
                std::fs::File::open(p).with_context(|| format!("cannot open {}", p.display()))?;
            (p.display().to_string(), Box::new(std::io::BufReader::new(f)))
        }
        _ => ("<stdin>".to_string(), Box::new(std::io::stdin().lock())),
    };
    let mut out = std::io::stdout().lock();
    let mut written = 0usize;
    for (i, line) in reader.lines().enumerate() {
        let at = format!("{name}:{}", i + 1);
        let line = line.with_context(|| format!("cannot read {at}"))?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        let (Some(pair), Some(relation), None) = (fields.next(), fields.next(), fields.next())
        else {
            anyhow::bail!(
                "{at}: expected `PAIR RELATION`, found `{line}` ({written} labels stored before it)"
            );
        };
        let pair: i64 = pair.parse().map_err(|_| {
            anyhow::anyhow!("{at}: `{pair}` is not a pair id ({written} labels stored before it)")
        })?;
        let done = project
            .annotate(PairId(pair), relation, None, &args.annotator)
            .await
            .map_err(|e| anyhow::anyhow!("{at}: {e} ({written} labels stored before it)"))?;
        written += 1;
        // Acknowledged only now that the label is committed.
        if cli.json {
            writeln!(
                out,
                "{}",
                serde_json::json!({"pair": pair, "event": done.event.0, "source": done.source})
            )?;
        } else {
            writeln!(out, "{pair} {}", done.event.0)?;
        }
        out.flush()?;
    }
    project.close().await;
    Ok(())
}
