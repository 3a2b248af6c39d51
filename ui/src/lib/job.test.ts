import { describe, expect, it } from "vitest";
import { idle, reduce } from "./job.svelte";

describe("job progress", () => {
  it("moves through a training job and ends with its outcome", () => {
    const t = { t: 0 };
    let s = reduce(idle(), { type: "started", job: 7, kind: "train" }, 0, t);
    expect(s.running).toBe(true);
    s = reduce(s, { type: "phase", job: 7, phase: "training v1 on 200 labels" }, 0, t);
    s = reduce(s, { type: "training", job: 7, version: 1, epoch: 1, epochs: 2, step: 5, steps_per_epoch: 10, loss: 1.2 }, 1000, t);
    expect(s.fraction).toBeCloseTo(0.25);
    expect(s.eta).toBeCloseTo(3);
    s = reduce(s, { type: "training", job: 7, version: 1, epoch: 2, epochs: 2, step: 10, steps_per_epoch: 10, loss: 0.4 }, 4000, t);
    expect(s.fraction).toBe(1);
    expect(s.loss).toBe(0.4);
    s = reduce(s, { type: "evaluated", job: 7, version: 1, precision: 0.8, recall: 0.7, f1: 0.75 }, 4000, t);
    s = reduce(s, { type: "finished", job: 7, status: "succeeded", message: null }, 4000, t);
    expect(s).toMatchObject({ running: false, f1: 0.75, outcome: { status: "succeeded" } });
  });

  it("reports a job that could not start", () => {
    const s = reduce(idle(), { type: "finished", job: null, status: "failed", message: "another job is running" }, 0, { t: 0 });
    expect(s.outcome).toEqual({ status: "failed", message: "another job is running" });
  });

  it("tells that the app started bootstrapping on its own, for that job only", () => {
    const t = { t: 0 };
    let s = reduce(idle(), { type: "started", job: 1, kind: "train" }, 0, t);
    s = reduce(s, { type: "finished", job: 1, status: "succeeded", message: null }, 0, t);
    expect(s.notice).toBeNull();
    s = reduce(s, { type: "auto_bootstrap", reliable: 1200, batch_size: 1000 }, 0, t);
    s = reduce(s, { type: "started", job: 2, kind: "bootstrap" }, 0, t);
    expect(s.running).toBe(true);
    expect(s.notice).toMatch(/started automatically.*1200 of N = 1000/);
    s = reduce(s, { type: "finished", job: 2, status: "succeeded", message: null }, 0, t);
    expect(s.notice).not.toBeNull();
    s = reduce(s, { type: "started", job: 3, kind: "train" }, 0, t);
    expect(s.notice).toBeNull();
  });
});
