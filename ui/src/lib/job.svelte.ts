// The running job as the training view shows it, fed by the backend's `job` events. It lives
// outside the views so progress keeps arriving while the annotator is labeling.

import type { JobEventView } from "./backend";

export interface JobState {
  id: number | null;
  kind: string;
  phase: string;
  /** 0..1 of the current phase. */
  fraction: number;
  epoch: number;
  epochs: number;
  loss: number | null;
  /** Seconds left in the current phase, once it can be estimated. */
  eta: number | null;
  running: boolean;
  /** How the last job ended. */
  outcome: { status: string; message: string | null } | null;
  /** F1 of the last evaluated model. */
  f1: number | null;
  /** Set when the app started this job on its own (the reliable set reached N). */
  notice: string | null;
}

export function idle(): JobState {
  return {
    id: null,
    kind: "",
    phase: "",
    fraction: 0,
    epoch: 0,
    epochs: 0,
    loss: null,
    eta: null,
    running: false,
    outcome: null,
    f1: null,
    notice: null,
  };
}

/** Folds one event into the state; `now` is in milliseconds. */
export function reduce(s: JobState, e: JobEventView, now: number, phaseStart: { t: number }): JobState {
  const eta = (fraction: number) => {
    const elapsed = (now - phaseStart.t) / 1000;
    return fraction > 0.02 && fraction < 1 ? (elapsed * (1 - fraction)) / fraction : null;
  };
  switch (e.type) {
    case "auto_bootstrap":
      return {
        ...s,
        notice: `Bootstrapping started automatically: the reliable set reached ${e.reliable} of N = ${e.batch_size}.`,
      };
    case "started": {
      phaseStart.t = now;
      // The notice belongs to the bootstrapping job it announced, not to a later one.
      const notice = e.kind === "bootstrap" && !s.running ? s.notice : null;
      return { ...idle(), id: e.job, kind: e.kind, phase: "starting", running: true, notice };
    }
    case "phase":
      phaseStart.t = now;
      return { ...s, phase: e.phase, fraction: 0, eta: null };
    case "training": {
      const total = Math.max(1, e.epochs * e.steps_per_epoch);
      const fraction = Math.min(1, ((e.epoch - 1) * e.steps_per_epoch + e.step) / total);
      return { ...s, fraction, epoch: e.epoch, epochs: e.epochs, loss: e.loss, eta: eta(fraction) };
    }
    case "epoch":
      return { ...s, epoch: e.epoch, epochs: e.epochs, fraction: e.epoch / Math.max(1, e.epochs) };
    case "scoring": {
      const fraction = e.done / Math.max(1, e.total);
      return { ...s, fraction, eta: eta(fraction) };
    }
    case "evaluated":
      return { ...s, f1: e.f1 };
    case "admitted":
      return { ...s, phase: `iteration ${e.iteration}: admitted ${e.admitted} labels` };
    case "iteration_finished":
      return { ...s, phase: `iteration ${e.iteration} finished (F1 ${(e.f1 * 100).toFixed(1)}, ${e.promoted ? "promoted" : "not promoted"})` };
    case "finished":
      return {
        ...s,
        running: false,
        fraction: e.status === "succeeded" ? 1 : s.fraction,
        eta: null,
        outcome: { status: e.status, message: e.message },
      };
  }
}

class Job {
  state = $state<JobState>(idle());
  /** Bumped when a job ends, so views reload what it changed. */
  generation = $state(0);
  private phaseStart = { t: 0 };

  apply(e: JobEventView, now = performance.now()): void {
    this.state = reduce(this.state, e, now, this.phaseStart);
    if (e.type === "finished" || e.type === "iteration_finished") this.generation++;
  }
}

export const job = new Job();
