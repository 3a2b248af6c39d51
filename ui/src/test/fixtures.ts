// A small in-memory backend behind `mockIPC`: a queue of pairs in one sentence, label events
// with undo, counts. Enough for the annotate view's logic to be tested without the Rust side.

import { mockIPC } from "@tauri-apps/api/mocks";
import type { CountsView, ItemView, ProjectView } from "../lib/backend";

export const project: ProjectView = {
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
    suggestion: suggestion ? { relation: rel.name, probability: 0.91, model_version: 1 } : null,
    in_gold_split: false,
  };
}

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

/** Installs the mock backend; `delay` (ms) slows the label writes down. */
export function mockBackend(opts: { pairs?: number[]; suggestion?: boolean; delay?: number } = {}) {
  const pairs = opts.pairs ?? [1, 2, 3];
  const calls: Call[] = [];
  const labels: { pair: number; relation: string }[] = [];
  const counts = (): CountsView => ({
    labeled_today: labels.length,
    left_in_queue: pairs.length - new Set(labels.map((l) => l.pair)).size,
    reliable: 0,
    batch_size: 1000,
  });
  const slow = () => new Promise((r) => setTimeout(r, opts.delay ?? 0));
  mockIPC(async (cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case "queue_window": {
        const labeled = new Set(labels.map((l) => l.pair));
        const left = pairs.filter((p) => !labeled.has(p));
        return { pairs: left, total: left.length };
      }
      case "pair_item":
        return item(a.pair as number, opts.suggestion);
      case "label_pair":
        await slow();
        labels.push({ pair: a.pair as number, relation: a.relation as string });
        return { pair: a.pair, event: labels.length };
      case "confirm_pair":
        await slow();
        labels.push({ pair: a.pair as number, relation: "confirmed" });
        return { pair: a.pair, event: labels.length };
      case "skip_pair":
        return null;
      case "undo_label": {
        const last = labels.pop();
        return last ? { pair: last.pair, restored: null } : null;
      }
      case "queue_counts":
        return counts();
      default:
        throw { code: "invalid", message: `unexpected command ${cmd}` };
    }
  });
  return { calls, labels };
}
