//! The store's bulk paths and concurrent labeling on SQLite and on PostgreSQL, in one run, with
//! the ratio PostgreSQL / SQLite for each (`bench/store-backends` runs it in release):
//!
//! - import of the CCKS 2017 train folder (when `../shared/data` has it) and of a demo corpus of
//!   `--sentences` sentences (default 15,000: about 100k candidate pairs);
//! - writing 130,000 scores of one model version;
//! - `queue_rows` (the input of every queue) and `stats` on that project;
//! - 8 client processes labeling 500 pairs each at the same time: every acknowledged label
//!   stored once, and each commit's latency (p50, p95).
//!
//! The PostgreSQL server is the tests' (`$EMREL_TEST_POSTGRES`, else 127.0.0.1:5432); without
//! one only SQLite runs.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Instant;

use emrel_core::{Schema, prepare_document};
use emrel_store::{LabelAction, LabelWrite, Location, PairId, ScoreRecord, ScoreSummary, Store};
use emrel_testdb::Target;

const CLIENTS: usize = 8;
const LABELS_PER_CLIENT: usize = 500;
const SCORES: usize = 130_000;

fn arg(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map_or(default, |v| v.parse().expect("a number"))
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// One labeling client (a process of its own): labels `pairs` as `ann<c>`, prints
/// `ack PAIR EVENT MICROSECONDS` for each commit.
async fn client(location: &str, c: usize, pairs: &[i64]) {
    let store = Store::open(Location::parse(location)).await.unwrap();
    let name = format!("ann{c}");
    for p in pairs {
        let w = LabelWrite::human(PairId(*p), "none", LabelAction::Set, &name);
        let t = Instant::now();
        let id = store.append_label(&w).await.unwrap();
        println!("ack {p} {} {}", id.0, t.elapsed().as_micros());
    }
    store.close().await;
}

struct Figures {
    rows: Vec<(String, f64)>,
}

async fn import(store: &Store, docs: Vec<emrel_core::DocumentInput>, format: &str) -> f64 {
    let prepared: Vec<_> =
        docs.into_iter().map(|d| prepare_document(store.schema(), d, false).unwrap()).collect();
    let t = Instant::now();
    store.import(&prepared, format, &mut |_, _| {}).await.unwrap();
    t.elapsed().as_secs_f64()
}

async fn run(target: &Target, sentences: usize) -> Figures {
    let mut rows = Vec::new();
    // Run from the project root (`bench/store-backends` does) or from this crate's folder.
    let ccks = ["../shared/data/ccks2017/Data/Train", "../../../shared/data/ccks2017/Data/Train"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_dir());
    match &ccks {
        Some(_) => {}
        None => eprintln!("skipped the CCKS 2017 import: ../shared/data/ccks2017 is absent"),
    }
    if let Some(dir) = &ccks {
        let store =
            Store::create(target.location("ccks.db").await, "ccks", Schema::paper_default())
                .await
                .unwrap();
        let docs = emrel_formats::ccks2017::read(std::slice::from_ref(dir)).unwrap();
        rows.push(("import CCKS 2017 train (s)".into(), import(&store, docs, "ccks2017").await));
        store.close().await;
    }
    let location = target.location("demo.db").await;
    let store = Store::create(&location, "demo", Schema::paper_default()).await.unwrap();
    let docs = emrel_formats::demo::generate(sentences, 7);
    rows.push((
        format!("import demo {sentences} sentences (s)"),
        import(&store, docs, "demo").await,
    ));
    let pairs: Vec<PairId> = store.pairs().await.unwrap().into_iter().map(|p| p.pair).collect();
    let mv = store.insert_model_version("cnn", "tiny", 0, "{}", None).await.unwrap();
    let scores: Vec<ScoreRecord> = (0..SCORES.min(pairs.len()))
        .map(|i| ScoreRecord {
            pair: pairs[i],
            summary: ScoreSummary {
                top_relation: "none".into(),
                top_probability: (i % 100) as f64 / 100.0,
                margin: (i % 37) as f64 / 37.0,
                entropy: 0.5,
                top_valid: true,
            },
            probabilities: vec![0.5, 0.25, 0.25],
        })
        .collect();
    let t = Instant::now();
    store.insert_scores(mv.id, &scores).await.unwrap();
    rows.push((format!("write {} scores (s)", scores.len()), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    let queue = store.queue_rows(Some(mv.id), Some("ann0")).await.unwrap();
    rows.push((format!("queue_rows of {} pairs (s)", queue.len()), t.elapsed().as_secs_f64()));
    let t = Instant::now();
    store.stats().await.unwrap();
    rows.push(("stats (s)".into(), t.elapsed().as_secs_f64()));

    // Concurrent labeling from separate processes.
    let exe = std::env::current_exe().unwrap();
    let url = match &location {
        Location::File(p) => p.display().to_string(),
        Location::Server(u) => u.clone(),
    };
    let t = Instant::now();
    let children: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let mine: Vec<String> = pairs
                .iter()
                .skip(c)
                .step_by(CLIENTS)
                .take(LABELS_PER_CLIENT)
                .map(|p| p.0.to_string())
                .collect();
            Command::new(&exe)
                .arg("client")
                .arg(&url)
                .arg(c.to_string())
                .arg(mine.join(","))
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut latencies = Vec::new();
    let mut acked = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "a client failed");
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let f: Vec<&str> = line.split(' ').collect();
            acked.push((f[1].parse::<i64>().unwrap(), f[2].parse::<i64>().unwrap()));
            latencies.push(f[3].parse::<f64>().unwrap() / 1000.0);
        }
    }
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(acked.len(), CLIENTS * LABELS_PER_CLIENT, "every label was acknowledged");
    let mut events: Vec<i64> = acked.iter().map(|a| a.1).collect();
    events.sort();
    events.dedup();
    assert_eq!(events.len(), acked.len(), "no event id twice");
    for (pair, event) in &acked {
        let history = store.label_history(PairId(*pair)).await.unwrap();
        assert_eq!(
            history.iter().filter(|e| e.event.0 == *event).count(),
            1,
            "acknowledged event {event} stored once"
        );
    }
    latencies.sort_by(f64::total_cmp);
    rows.push(("8 clients x 500 labels: wall (s)".into(), wall));
    rows.push(("commit latency p50 (ms)".into(), percentile(&latencies, 0.5)));
    rows.push(("commit latency p95 (ms)".into(), percentile(&latencies, 0.95)));
    rows.push(("labels per second".into(), acked.len() as f64 / wall));
    store.close().await;
    Figures { rows }
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("client") {
        let pairs: Vec<i64> = args[4].split(',').map(|p| p.parse().unwrap()).collect();
        client(&args[2], args[3].parse().unwrap(), &pairs).await;
        return;
    }
    let sentences = arg("--sentences", 15_000);
    let sqlite = run(&Target::sqlite(), sentences).await;
    let postgres = match Target::postgres("store-backends").await {
        Some(t) => Some(run(&t, sentences).await),
        None => None,
    };
    println!("{:<40} {:>12} {:>12} {:>8}", "", "SQLite", "PostgreSQL", "PG/SQL");
    for (i, (what, s)) in sqlite.rows.iter().enumerate() {
        match &postgres {
            Some(p) => {
                let v = p.rows[i].1;
                println!("{what:<40} {s:>12.3} {v:>12.3} {:>8.2}", v / s);
            }
            None => println!("{what:<40} {s:>12.3} {:>12} {:>8}", "-", "-"),
        }
    }
}
