//! Review verbs: `drift` (per-iteration drift metrics and alarms), `audit` (a terminal audit
//! session, or `--simulate` answering from gold), `review` (accept or quarantine an iteration)
//! and `relation` (per-relation λ, freezing).

use std::io::{BufRead, Write};

use anyhow::Context;
use clap::{Args, ValueEnum};
use emrel_core::NONE;
use emrel_core::drift::Alarm;
use emrel_engine::{AuditSummary, IterationReview, Project, ReviewAction};

use crate::Cli;
use crate::engine::{open, pct};

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// Only this iteration.
    #[arg(long)]
    iteration: Option<i64>,
}

#[derive(Args, Debug)]
pub struct AuditArgs {
    /// Iteration to audit (the latest one when absent).
    #[arg(long)]
    iteration: Option<i64>,
    /// Answer from the corpus's gold relations instead of asking (simulation).
    #[arg(long)]
    simulate: bool,
    /// Spread this many judgements over the strata by Neyman allocation (at least the
    /// project's per-stratum minimum each) instead of the minimum alone.
    #[arg(long)]
    budget: Option<usize>,
    /// Reviewer name recorded with each judgement.
    #[arg(long, env = "EMREL_ANNOTATOR", default_value = "reviewer")]
    annotator: String,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewVerb {
    /// Its labels count as training data again; marked accepted.
    Accept,
    /// Its labels stay but are not trained on until a reviewer decides.
    Quarantine,
}

#[derive(Args, Debug)]
pub struct ReviewArgs {
    #[arg(value_enum)]
    action: ReviewVerb,
    /// The iteration.
    iteration: i64,
}

#[derive(Args, Debug)]
pub struct RelationArgs {
    /// The relation (as the schema names it).
    relation: String,
    /// Admission threshold for this relation (λ for it alone).
    #[arg(long, conflicts_with = "clear_threshold")]
    threshold: Option<f64>,
    /// Back to the project's λ for this relation.
    #[arg(long)]
    clear_threshold: bool,
    /// Stop admitting automatic labels of this relation.
    #[arg(long, conflicts_with = "thaw")]
    freeze: bool,
    /// Admit this relation again.
    #[arg(long)]
    thaw: bool,
}

fn opt(x: Option<f64>) -> String {
    x.map_or("-".to_string(), |v| format!("{v:.3}"))
}

fn print_alarm(a: &Alarm) {
    println!(
        "    ALARM iteration {} {} {}: {:.4} (threshold {:.4}){}",
        a.iteration,
        a.relation,
        a.metric,
        a.value,
        a.threshold,
        if a.quarantine { "" } else { " [informs, does not quarantine]" }
    );
}

fn print_review(r: &IterationReview) {
    println!(
        "iteration {} [{}{}]: {} admitted ({} still automatic), λ {:.2}, base v{} → v{}",
        r.iteration,
        r.status,
        if r.accepted { ", accepted" } else { "" },
        r.admitted,
        r.still_automatic,
        r.threshold,
        r.base_model_version.map_or("-".to_string(), |v| v.to_string()),
        r.model_version.map_or("-".to_string(), |v| v.to_string()),
    );
    let Some(d) = &r.drift else {
        println!("    no drift metrics (iteration not finished, or admitted before they existed)");
        return;
    };
    println!(
        "    JSD {:.4}; below floor {} of {}; churn auto {} human {}; schema violations {}; F1 {} (was {}); ECE {} at T {}",
        d.jsd,
        opt(d.below_floor),
        d.below_floor_items,
        opt(d.churn_auto),
        opt(d.churn_human),
        d.schema_violations,
        d.f1.map_or("-".into(), pct),
        d.previous_f1.map_or("-".into(), pct),
        opt(d.ece),
        opt(d.temperature),
    );
    println!(
        "    {:<10} {:>8} {:>7} {:>7} {:>7} {:>8} {:>7} {:>7} {:>7} {:>7}",
        "relation", "admitted", "share", "prior", "conf", "centroid", "floor", "MC", "F1", "F1 was"
    );
    for x in d.relations.iter().filter(|x| x.admitted > 0 || x.prior_share > 0.0) {
        println!(
            "    {:<10} {:>8} {:>7.3} {:>7.3} {:>7.3} {:>8} {:>7} {:>7} {:>7} {:>7}",
            x.relation,
            x.admitted,
            x.share,
            x.prior_share,
            x.confidence_mean,
            opt(x.centroid_similarity),
            opt(x.seed_similarity_floor),
            opt(x.mcintosh_curran),
            x.f1.map_or("-".into(), pct),
            x.previous_f1.map_or("-".into(), pct),
        );
    }
    for a in &r.alarms {
        print_alarm(a);
    }
}

pub async fn drift(cli: &Cli, args: &DriftArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let mut review = project.review().await?;
    project.close().await;
    if let Some(k) = args.iteration {
        review.retain(|r| r.iteration == k);
        anyhow::ensure!(!review.is_empty(), "there is no iteration {k}");
    }
    if cli.json {
        let alarms: Vec<&Alarm> = review.iter().flat_map(|r| &r.alarms).collect();
        println!("{}", serde_json::json!({ "iterations": review, "alarms": alarms }));
        return Ok(());
    }
    if review.is_empty() {
        println!("no bootstrapping iterations yet");
    }
    for r in &review {
        print_review(r);
    }
    Ok(())
}

fn print_summary(s: &AuditSummary) {
    println!(
        "audit of iteration {}: {} of {} drawn items judged ({} labels in all)",
        s.iteration, s.judged, s.sample, s.population
    );
    println!(
        "    {:<10} {:<10} {:>6} {:>6} {:>6} {:>7} {:>15}",
        "relation", "confidence", "size", "drawn", "judged", "correct", "Wilson 95%"
    );
    for x in &s.strata {
        println!(
            "    {:<10} {:<10} {:>6} {:>6} {:>6} {:>7} {:>15}",
            x.relation,
            x.bin_label,
            x.size,
            x.sample,
            x.judged,
            x.correct,
            format!("{:.3}–{:.3}", x.low, x.high)
        );
    }
    match s.precision {
        Some(p) => println!(
            "estimated precision {:.3} (95% interval {:.3}–{:.3}); about {:.0} wrong labels; target {:.2}: {}",
            p,
            s.low,
            s.high,
            s.expected_wrong.unwrap_or(0.0),
            s.target,
            match s.decision.as_str() {
                "accept" => "accept",
                "roll_back" => "roll back (`emrel rollback --to ...`)",
                _ => "judge more items",
            }
        ),
        None => println!("nothing judged yet"),
    }
}

/// The newest finished iteration that was not rolled back.
async fn latest_iteration(project: &Project) -> anyhow::Result<i64> {
    project
        .review()
        .await?
        .iter()
        .rev()
        .find(|r| r.finished_at.is_some() && r.status != "rolled_back")
        .map(|r| r.iteration)
        .context("there are no finished bootstrapping iterations to audit")
}

pub async fn audit(cli: &Cli, args: &AuditArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let k = match args.iteration {
        Some(k) => k,
        None => latest_iteration(&project).await?,
    };
    let summary = if args.simulate {
        project.audit_from_gold(k, args.budget, &args.annotator).await?
    } else {
        interactive_audit(&project, k, args).await?
    };
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        print_summary(&summary);
    }
    Ok(())
}

/// Marks the head entity with 【】 and the tail with 〖〗 in the sentence.
fn marked(item: &emrel_engine::Item) -> String {
    let chars: Vec<char> = item.text.chars().collect();
    let mut out = String::new();
    for (i, c) in chars.iter().enumerate() {
        for (e, open) in [(&item.head, '【'), (&item.tail, '〖')] {
            if e.spans.iter().any(|s| s[0] == i) {
                out.push(open);
            }
        }
        out.push(*c);
        for (e, close) in [(&item.head, '】'), (&item.tail, '〗')] {
            if e.spans.iter().any(|s| s[1] == i + 1) {
                out.push(close);
            }
        }
    }
    out
}

async fn interactive_audit(
    project: &Project,
    k: i64,
    args: &AuditArgs,
) -> anyhow::Result<AuditSummary> {
    // Prompts go to stderr so that `--json` output stays clean.
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut ask = |prompt: &str| -> anyhow::Result<Option<String>> {
        eprint!("{prompt}");
        std::io::stderr().flush()?;
        Ok(match lines.next() {
            Some(line) => Some(line?.trim().to_string()),
            None => None,
        })
    };
    'items: while let Some(next) = project.audit_next(k, args.budget).await? {
        let item = &next.item;
        eprintln!();
        eprintln!("[{} left] {}", next.remaining, marked(item));
        eprintln!(
            "head 【{}】 ({}) → tail 〖{}〗 ({}); automatic label: {}",
            item.head.mention,
            item.head.entity_type,
            item.tail.mention,
            item.tail.entity_type,
            next.label
        );
        for (i, r) in item.relations.iter().enumerate() {
            eprintln!("    {} {:<10} {}", i + 1, r.name, r.description);
        }
        let right: Option<String> = loop {
            let Some(answer) = ask(
                "is the label right? [y = yes, n = no, a number = the right relation, 0 = none, q = stop] ",
            )?
            else {
                break 'items;
            };
            let pick = |n: &str| -> Option<String> {
                match n {
                    "0" => Some(NONE.to_string()),
                    n => n
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| item.relations.get(i.wrapping_sub(1)))
                        .map(|r| r.name.clone()),
                }
            };
            match answer.as_str() {
                "y" | "Y" => break None,
                "q" | "Q" => break 'items,
                "n" | "N" => {
                    let Some(n) = ask("the right relation (a number, 0 = none): ")? else {
                        break 'items;
                    };
                    match pick(&n) {
                        Some(r) if r != next.label => break Some(r),
                        Some(_) => {
                            eprintln!("that is the automatic label; answer y if it is right")
                        }
                        None => eprintln!("not a relation number: `{n}`"),
                    }
                }
                n => match pick(n) {
                    Some(r) => break Some(r),
                    None => eprintln!("not an answer: `{n}`"),
                },
            }
        };
        project.judge(k, item.pair, right.as_deref(), &args.annotator).await?;
    }
    Ok(project.audit_summary(k, args.budget).await?)
}

pub async fn review(cli: &Cli, args: &ReviewArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let action = match args.action {
        ReviewVerb::Accept => ReviewAction::Accept,
        ReviewVerb::Quarantine => ReviewAction::Quarantine,
    };
    let r = project.review_iteration(args.iteration, action).await?;
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&r)?);
    } else {
        println!(
            "iteration {} is {}{}; its labels {} trained on from the next training",
            r.iteration,
            r.status,
            if r.accepted { " (accepted)" } else { "" },
            if r.status == "active" { "are" } else { "are not" }
        );
    }
    Ok(())
}

pub async fn relation(cli: &Cli, args: &RelationArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    if let Some(t) = args.threshold {
        project.set_relation_threshold(&args.relation, Some(t)).await?;
    }
    if args.clear_threshold {
        project.set_relation_threshold(&args.relation, None).await?;
    }
    if args.freeze || args.thaw {
        project.freeze_relation(&args.relation, args.freeze).await?;
    }
    let s = project.settings().await?;
    project.close().await;
    let lambda = s.lambda();
    let frozen = lambda.frozen.contains(&args.relation);
    if cli.json {
        println!(
            "{}",
            serde_json::json!({
                "relation": args.relation, "threshold": lambda.of(&args.relation), "frozen": frozen
            })
        );
    } else {
        println!(
            "{}: λ {:.2}{}{}",
            args.relation,
            lambda.of(&args.relation),
            if s.relation_thresholds.contains_key(&args.relation) { " (own)" } else { "" },
            if frozen { ", frozen: no automatic admissions" } else { "" }
        );
    }
    Ok(())
}

#[derive(Args, Debug)]
pub struct AgreementArgs {
    /// Bootstrap resamples for the 95% intervals.
    #[arg(long, default_value_t = 1000)]
    resamples: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

fn estimate(e: &emrel_core::agreement::Estimate) -> String {
    match (e.value, e.low, e.high) {
        (Some(v), Some(l), Some(h)) => format!("{v:.3} [{l:.3}, {h:.3}]"),
        (Some(v), _, _) => format!("{v:.3}"),
        _ => "-".into(),
    }
}

/// `emrel agreement`: inter-annotator agreement on the pairs two or more people labeled.
pub async fn agreement(cli: &Cli, args: &AgreementArgs) -> anyhow::Result<()> {
    let project = open(cli, None).await?;
    let r = project.agreement(args.resamples, args.seed).await?;
    project.close().await;
    if cli.json {
        println!("{}", serde_json::to_string(&r)?);
        return Ok(());
    }
    if r.units == 0 {
        println!("no pair has been labeled by two annotators yet");
        return Ok(());
    }
    println!("{} pairs labeled by two or more of {} annotators", r.units, r.annotators.len());
    println!("Fleiss' kappa        {}", estimate(&r.fleiss_kappa));
    println!("Krippendorff's alpha {}", estimate(&r.krippendorff_alpha));
    println!();
    println!(
        "{:<16} {:<16} {:>6} {:>8}  Cohen's kappa [95%]",
        "annotator", "annotator", "pairs", "agree"
    );
    for p in &r.pairs {
        println!(
            "{:<16} {:<16} {:>6} {:>7.1}%  {}",
            p.a,
            p.b,
            p.units,
            p.observed * 100.0,
            estimate(&p.cohen_kappa)
        );
    }
    println!();
    println!(
        "{:<16} {:>8}  {:<28} Krippendorff's alpha [95%]",
        "relation", "labels", "Fleiss' kappa [95%]"
    );
    for c in r.per_category.iter().filter(|c| c.ratings > 0) {
        println!(
            "{:<16} {:>8}  {:<28} {}",
            c.category,
            c.ratings,
            estimate(&c.fleiss_kappa),
            estimate(&c.krippendorff_alpha)
        );
    }
    Ok(())
}
