// The review view's wording and keyboard map. Pure, so it is tested without a DOM.

import type { AlarmView, AuditSummaryView, IterationReviewView } from "./backend";
import { typing, type KeyLike } from "./keys";

/** A number as a percentage with one decimal; `–` when absent. */
export const pct = (x: number | null | undefined, digits = 1): string =>
  x === null || x === undefined ? "–" : `${(x * 100).toFixed(digits)}%`;

/** A number with three decimals; `–` when absent. */
export const num = (x: number | null | undefined, digits = 3): string =>
  x === null || x === undefined ? "–" : x.toFixed(digits);

/** How an iteration's status is written. */
export function statusLabel(status: string): string {
  switch (status) {
    case "active":
      return "active";
    case "quarantined":
      return "quarantined";
    case "rejected":
      return "rejected";
    case "rolled_back":
      return "rolled back";
    default:
      return status;
  }
}

/** One alarm in words: which iteration, which relation, which metric, its value and threshold. */
export function alarmText(a: AlarmView): string {
  const where = a.relation === "*" ? `Iteration ${a.iteration}` : `Iteration ${a.iteration} · ${a.relation}`;
  const points = (x: number) => (x * 100).toFixed(1);
  let what: string;
  switch (a.metric) {
    case "jsd":
      what = `the admitted label mix diverges from the human labels: JSD ${num(a.value)} is above ${num(a.threshold)}`;
      break;
    case "f1_drop":
      what =
        a.relation === "*"
          ? `gold-split F1 fell by ${points(a.value)} points, more than ${points(a.threshold)}`
          : `F1 of ${a.relation} fell by ${points(a.value)} points, more than ${points(a.threshold)}`;
      break;
    case "churn_auto":
      what = `${pct(a.value)} of earlier automatic labels flip under the new model, more than ${pct(a.threshold)}`;
      break;
    case "churn_human":
      what = `the new model predicts ${pct(a.value)} of human labels differently, more than ${pct(a.threshold)}`;
      break;
    case "share_ratio":
      what = `its share of the admitted labels is ${a.value.toFixed(2)}× its share of the human labels, more than ${a.threshold.toFixed(2)}×`;
      break;
    case "centroid_similarity":
      what = `admitted items lie away from the human ones: similarity to their centroid ${num(a.value)} is below the floor ${num(a.threshold)}`;
      break;
    case "below_floor":
      what = `${pct(a.value)} of the admitted items lie further from their relation's human examples than 95% of those do, more than ${pct(a.threshold)}`;
      break;
    default:
      what = `${a.metric} ${num(a.value)} crossed the threshold ${num(a.threshold)}`;
  }
  return `${where}: ${what}${a.quarantine ? "" : " (informs; does not quarantine)"}`;
}

/** The audit's decision in words. */
export function decisionText(s: AuditSummaryView): string {
  const interval = `${pct(s.low)}–${pct(s.high)}`;
  switch (s.decision) {
    case "accept":
      return `Accept: the precision is at least ${pct(s.low)} (95% interval ${interval}), which reaches the target ${pct(s.target)}.`;
    case "roll_back":
      return `Roll back: the precision is at most ${pct(s.high)} (95% interval ${interval}), below the target ${pct(s.target)}.`;
    default:
      return s.judged === 0
        ? `Judge some items: nothing is judged yet (target ${pct(s.target)}).`
        : `Judge more: the 95% interval ${interval} straddles the target ${pct(s.target)}.`;
  }
}

/** Iterations a roll-back from `k` reverts: `k` and every later one not rolled back yet. */
export function rolledBackBy(iterations: IterationReviewView[], k: number): IterationReviewView[] {
  return iterations.filter((it) => it.iteration >= k && it.status !== "rolled_back");
}

export type AuditAction =
  | { kind: "correct" }
  | { kind: "relation"; index: number }
  | { kind: "none" }
  | { kind: "leave" };

/** The audit screen's keys: Enter/y the label is right, 1–9 the right relation, 0/n none, Esc leave. */
export function auditActionFor(e: KeyLike): AuditAction | null {
  if (typing(e.target)) return null;
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  if (/^[1-9]$/.test(e.key)) return { kind: "relation", index: Number(e.key) - 1 };
  switch (e.key) {
    case "Enter":
    case "y":
      return { kind: "correct" };
    case "0":
    case "n":
      return { kind: "none" };
    case "Escape":
      return { kind: "leave" };
    default:
      return null;
  }
}
