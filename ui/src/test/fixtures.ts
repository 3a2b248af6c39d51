// A small in-memory backend behind `mockIPC`: a queue of pairs in one sentence, label events
// with undo, counts. Enough for the annotate view's logic to be tested without the Rust side.

import { mockIPC } from "@tauri-apps/api/mocks";
import type {
  AlarmView,
  AuditSummaryView,
  CountsView,
  IterationReviewView,
  ItemView,
  ProjectView,
  RelationDriftView,
  ReviewOverview,
} from "../lib/backend";

export const project: ProjectView = {
  uid: "uid-demo",
  path: "/tmp/demo.db",
  name: "demo",
  schema: "emr-paper",
  entity_types: [
    { name: "disease", color: "#c62828" },
    { name: "symptom", color: "#ef6c00" },
    { name: "position", color: "#6a1b9a" },
  ],
  relations: [
    { name: "DAP", description: "the disease appears at the position" },
    { name: "SAP", description: "the symptom appears at the position" },
  ],
  annotator: "ann",
  pairs: 3,
  unlabeled_pairs: 3,
};

// 患者腹部疼痛，诊断为胃炎。  腹部 = 2..4 (position), 疼痛 = 4..6 (symptom), 胃炎 = 10..12 (disease)
const TEXT = "患者腹部疼痛，诊断为胃炎。";
const position = { mention: "腹部", entity_type: "position", spans: [[2, 4]] as [number, number][] };
const symptom = { mention: "疼痛", entity_type: "symptom", spans: [[4, 6]] as [number, number][] };
const disease = { mention: "胃炎", entity_type: "disease", spans: [[10, 12]] as [number, number][] };

export function item(pair: number, suggestion = false): ItemView {
  const head = pair === 2 ? disease : symptom;
  const rel = pair === 2 ? project.relations[0] : project.relations[1];
  return {
    pair,
    text: TEXT,
    category: `${head.entity_type}-position`,
    head,
    tail: position,
    others: [position, symptom, disease],
    relations: [rel, { name: "none", description: "no relation between the two entities" }],
    current: null,
    suggestion: suggestion
      ? { relation: rel.name, probability: 0.91, calibrated: 0.84, model_version: 1 }
      : null,
    in_gold_split: false,
  };
}

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** A write the mock backend refuses: `times` attempts in a row fail with `code`. */
export interface Failure {
  code: string;
  message?: string;
  times: number;
}

/**
 * Installs the mock backend; `delay` (ms) slows the label writes down. The returned handle
 * can make writes fail (`fail`) or hold them until released (`hold`), and `open_project`
 * switches the project whose uid writes must carry.
 */
export function mockBackend(opts: { pairs?: number[]; suggestion?: boolean; delay?: number; events?: boolean } = {}) {
  const pairs = opts.pairs ?? [1, 2, 3];
  const calls: Call[] = [];
  const labels: { pair: number; relation: string }[] = [];
  /** The action the backend decided for each committed label, in order. */
  const actions: string[] = [];
  const failures: Failure[] = [];
  let gate: Promise<void> | null = null;
  const state = { uid: project.uid };
  const counts = (): CountsView => ({
    labeled_today: labels.length,
    left_in_queue: pairs.length - new Set(labels.map((l) => l.pair)).size,
    reliable: 0,
    batch_size: 1000,
  });
  // No timer at all without a delay: tests on fake timers count every millisecond.
  const slow = () => (opts.delay ? new Promise((r) => setTimeout(r, opts.delay)) : Promise.resolve());
  /** What every write goes through: the hold, the delay, the failures, the project check. */
  const writing = async (a: Record<string, unknown>) => {
    while (gate) await gate;
    await slow();
    const f = failures[0];
    if (f) {
      if (--f.times <= 0) failures.shift();
      throw { code: f.code, message: f.message ?? `${f.code}: the write failed` };
    }
    if (a.project !== state.uid) throw { code: "project_changed", message: `project ${String(a.project)} is no longer open` };
  };
  mockIPC(
    async (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      switch (cmd) {
        case "startup":
          return {
            project: { ...project, uid: state.uid },
            recent: [{ path: "/tmp/other.db", name: "other", opened_at: "2025-01-01 10:00:00", exists: true }],
            data_dir: "/data",
            annotator: "ann",
            created_demo: false,
            error: null,
          };
        case "open_project":
          state.uid = `uid-${String(a.path)}`;
          labels.length = 0;
          return { ...project, uid: state.uid, path: a.path, name: "other" };
        case "queue_window": {
          const labeled = new Set(labels.map((l) => l.pair));
          const left = pairs.filter((p) => !labeled.has(p));
          return { pairs: left, total: left.length };
        }
        case "pair_item":
          return item(a.pair as number, opts.suggestion);
        case "annotate_pair": {
          await writing(a);
          const shown = a.shown as { relation: string } | null;
          const action = shown === null ? "set" : shown.relation === a.relation ? "confirm" : "fix";
          labels.push({ pair: a.pair as number, relation: a.relation as string });
          actions.push(action);
          return { pair: a.pair, event: labels.length, action };
        }
        case "skip_pair":
          await writing(a);
          return null;
        case "undo_label": {
          if (a.project !== state.uid) throw { code: "project_changed", message: "another project is open" };
          const last = labels.pop();
          actions.pop();
          return last ? { pair: last.pair, restored: null } : null;
        }
        case "queue_counts":
          return counts();
        case "plugin:window|destroy":
          return null;
        default:
          throw { code: "invalid", message: `unexpected command ${cmd}` };
      }
    },
    { shouldMockEvents: opts.events ?? false },
  );
  return {
    calls,
    labels,
    actions,
    state,
    /** The next `times` writes fail with `code`. */
    fail(code: string, times = 1, message?: string) {
      failures.push({ code, times, message });
    },
    /** Holds every write until the returned function is called. */
    hold(): () => void {
      let release = () => {};
      gate = new Promise<void>((r) => (release = r));
      return () => {
        gate = null;
        release();
      };
    },
    /** The writes sent so far (commands and arguments), failed attempts included. */
    writes: () => calls.filter((c) => c.cmd === "annotate_pair" || c.cmd === "skip_pair"),
  };
}

// The review view's backend: four iterations (active and accepted, rejected, quarantined with
// two alarms, rolled back), the schema's relations and a two-item audit sample.

function relationDrift(relation: string, share: number, prior: number, f1: number | null): RelationDriftView {
  return {
    relation,
    admitted: Math.round(share * 100),
    share,
    prior_share: prior,
    confidence_mean: 0.9,
    confidence_histogram: [0, 0, 0, 0, 0, 0, 1, 4, 10, 30],
    centroid_similarity: relation === "none" ? null : 0.81,
    seed_similarity_floor: relation === "none" ? null : 0.7,
    mcintosh_curran: relation === "none" ? null : 1.3,
    f1,
    previous_f1: f1 === null ? null : f1 + 0.01,
  };
}

function iteration(k: number, status: string, alarms: AlarmView[], accepted = false): IterationReviewView {
  return {
    iteration: k,
    status,
    accepted,
    admitted: 100,
    still_automatic: status === "rolled_back" ? 0 : 90 - k,
    threshold: 0.9,
    base_model_version: k,
    model_version: k + 1,
    started_at: "2025-01-01 10:00:00",
    finished_at: "2025-01-01 10:05:00",
    drift: {
      admitted: 100,
      jsd: k === 3 ? 0.142 : 0.03,
      churn_auto: 0.02,
      churn_human: 0.01,
      schema_violations: 0,
      f1: 0.7 + k * 0.02,
      previous_f1: 0.7 + (k - 1) * 0.02,
      ece: 0.04,
      temperature: 1.3,
      relations: [
        relationDrift("DAP", 0.3, 0.4, 0.6 + k * 0.03),
        relationDrift("SAP", k === 3 ? 0.6 : 0.3, 0.25, 0.7 + k * 0.01),
        relationDrift("none", 0.1, 0.35, null),
      ],
    },
    alarms,
    admission_alarms: alarms,
  };
}

/** Installs the review backend; the command named `fail` answers with an error. */
export function mockReviewBackend(opts: { fail?: string } = {}) {
  const calls: Call[] = [];
  const iterations: IterationReviewView[] = [
    iteration(1, "active", [], true),
    iteration(2, "rejected", []),
    iteration(3, "quarantined", [
      { iteration: 3, relation: "*", metric: "jsd", value: 0.142, threshold: 0.1, quarantine: false },
      { iteration: 3, relation: "SAP", metric: "share_ratio", value: 2.4, threshold: 2, quarantine: false },
    ]),
    iteration(4, "rolled_back", []),
  ];
  const relations = [
    { relation: "DAP", threshold: null as number | null, frozen: false },
    { relation: "SAP", threshold: null as number | null, frozen: false },
  ];
  // The audit sample: pair 1 admitted as SAP, pair 2 admitted as none.
  const sample = [
    { pair: 1, label: "SAP" },
    { pair: 2, label: "none" },
  ];
  const judgements: { pair: number; relation: string | null }[] = [];
  const overview = (): ReviewOverview => ({
    iterations: structuredClone(iterations),
    relations: structuredClone(relations),
    threshold: 0.9,
    auto_quarantine: true,
    audit_target: 0.9,
    audit_per_stratum: 30,
    running: false,
  });
  const summary = (k: number): AuditSummaryView => {
    const correct = judgements.filter((j) => j.relation === null).length;
    const n = judgements.length;
    return {
      iteration: k,
      target: 0.9,
      population: 100,
      sample: sample.length,
      judged: n,
      strata: [
        { relation: "SAP", bin: 3, bin_label: "≥0.97", size: 60, sample: 1, judged: Math.min(n, 1), correct: Math.min(correct, 1), low: 0.2, high: 1 },
        { relation: "none", bin: 2, bin_label: "0.90–0.97", size: 40, sample: 1, judged: Math.max(0, n - 1), correct: 0, low: 0, high: 0.8 },
      ],
      precision: n ? correct / n : null,
      low: n ? 0.1 : 0,
      high: n ? 0.95 : 1,
      expected_wrong: n ? 40 : null,
      decision: n === sample.length ? "roll_back" : "sample_more",
    };
  };
  mockIPC(async (cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    if (cmd === opts.fail) throw { code: "invalid", message: `${cmd} refused: iteration ${a.iteration} is rolled back` };
    switch (cmd) {
      case "review_overview":
        return overview();
      case "review_action": {
        const it = iterations.find((i) => i.iteration === a.iteration)!;
        it.status = a.action === "accept" ? "active" : "quarantined";
        it.accepted = a.action === "accept";
        return structuredClone(it);
      }
      case "rollback_iteration":
        return null;
      case "relation_setting": {
        const r = relations.find((x) => x.relation === a.relation)!;
        r.threshold = a.threshold as number | null;
        r.frozen = a.frozen as boolean;
        return overview();
      }
      case "audit_summary":
        return summary(a.iteration as number);
      case "audit_next": {
        const left = sample.filter((s) => !judgements.some((j) => j.pair === s.pair));
        if (!left.length) return null;
        // The engine strips the suggestion; this one keeps it to show the screen never prints it.
        return { iteration: a.iteration, label: left[0].label, item: item(left[0].pair, true), remaining: left.length };
      }
      case "audit_judge":
        judgements.push({ pair: a.pair as number, relation: a.relation as string | null });
        return summary(a.iteration as number);
      default:
        throw { code: "invalid", message: `unexpected command ${cmd}` };
    }
  });
  return { calls, judgements, iterations };
}
