// The latest `progress` event per task (import, export, demo), for the progress bars.

import type { ProgressView } from "./backend";

class Progress {
  byTask = $state<Record<string, ProgressView>>({});

  apply(p: ProgressView): void {
    this.byTask = { ...this.byTask, [p.task]: p };
  }

  clear(task: string): void {
    const { [task]: _, ...rest } = this.byTask;
    this.byTask = rest;
  }
}

export const progress = new Progress();
