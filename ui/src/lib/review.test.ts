import { describe, expect, it } from "vitest";
import { alarmText, auditActionFor, decisionText, rolledBackBy } from "./review";
import type { AuditSummaryView, IterationReviewView } from "./backend";

describe("review wording", () => {
  it("writes every alarm metric with its iteration, relation, value and threshold", () => {
    const a = (relation: string, metric: string, value: number, threshold: number) =>
      alarmText({ iteration: 5, relation, metric, value, threshold, quarantine: true });
    expect(a("*", "f1_drop", 0.031, 0.02)).toBe("Iteration 5: gold-split F1 fell by 3.1 points, more than 2.0");
    expect(a("SAP", "f1_drop", 0.06, 0.05)).toBe("Iteration 5 · SAP: F1 of SAP fell by 6.0 points, more than 5.0");
    expect(a("*", "churn_auto", 0.08, 0.05)).toBe(
      "Iteration 5: 8.0% of earlier automatic labels flip under the new model, more than 5.0%",
    );
    expect(a("*", "churn_human", 0.07, 0.05)).toBe(
      "Iteration 5: the new model predicts 7.0% of human labels differently, more than 5.0%",
    );
    expect(a("DAP", "centroid_similarity", 0.612, 0.7)).toBe(
      "Iteration 5 · DAP: admitted items lie away from the human ones: similarity to their centroid 0.612 is below the floor 0.700",
    );
    expect(a("DAP", "novel", 1, 0.5)).toBe("Iteration 5 · DAP: novel 1.000 crossed the threshold 0.500");
    expect(a("*", "below_floor", 0.3, 0.15)).toBe(
      "Iteration 5: 30.0% of the admitted items lie further from their relation's human examples than 95% of those do, more than 15.0%",
    );
    expect(
      alarmText({ iteration: 2, relation: "*", metric: "jsd", value: 0.4, threshold: 0.3, quarantine: false }),
    ).toBe(
      "Iteration 2: the admitted label mix diverges from the human labels: JSD 0.400 is above 0.300 (informs; does not quarantine)",
    );
  });

  it("writes the audit decision against the target", () => {
    const s = (decision: string, judged = 40): AuditSummaryView => ({
      iteration: 1, target: 0.9, population: 400, sample: 120, judged, strata: [],
      precision: 0.95, low: 0.92, high: 0.98, expected_wrong: 20, decision,
    });
    expect(decisionText(s("accept"))).toBe(
      "Accept: the precision is at least 92.0% (95% interval 92.0%–98.0%), which reaches the target 90.0%.",
    );
    expect(decisionText(s("sample_more"))).toBe("Judge more: the 95% interval 92.0%–98.0% straddles the target 90.0%.");
  });

  it("a roll-back reverts the iteration and the later ones not rolled back yet", () => {
    const it = (iteration: number, status: string) => ({ iteration, status }) as IterationReviewView;
    const list = [it(1, "active"), it(2, "quarantined"), it(3, "rolled_back"), it(4, "rejected")];
    expect(rolledBackBy(list, 2).map((i) => i.iteration)).toEqual([2, 4]);
  });
});

describe("the audit keys", () => {
  it("maps Enter/y, digits, 0/n and Esc, and leaves form fields and shortcuts alone", () => {
    expect(auditActionFor({ key: "Enter" })).toEqual({ kind: "correct" });
    expect(auditActionFor({ key: "y" })).toEqual({ kind: "correct" });
    expect(auditActionFor({ key: "3" })).toEqual({ kind: "relation", index: 2 });
    expect(auditActionFor({ key: "0" })).toEqual({ kind: "none" });
    expect(auditActionFor({ key: "n" })).toEqual({ kind: "none" });
    expect(auditActionFor({ key: "Escape" })).toEqual({ kind: "leave" });
    expect(auditActionFor({ key: "5", ctrlKey: true })).toBeNull();
    expect(auditActionFor({ key: "1", target: document.createElement("input") })).toBeNull();
  });
});
