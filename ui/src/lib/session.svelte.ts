// The annotate view's state and logic, apart from any component so it is tested with a mocked
// backend. The next pair must appear at once after a key press, so the session keeps a window
// of the queue and the next items prefetched, shows the next item before the label is written,
// and writes labels in order in the background. What the screen counts as labeled is only what
// the backend committed: pending writes are shown as such, and a failed one stays on screen,
// holding the later ones back, until it is saved on retry or discarded.
//
// The session lives as long as the app (not the annotate view), so leaving the view, opening
// another project or closing the window can wait for its writes (see `flush`, `leave`).

import {
  call,
  CommandError,
  messageOf,
  type CountsView,
  type ErrorCode,
  type ItemView,
  type QueueKind,
  type ShownSuggestion,
} from "./backend";
import type { Action } from "./keys";

const WINDOW = 200;
/** Items fetched ahead: enough that a fast annotator does not catch up with the backend. */
const PREFETCH = 6;
/** Errors that may go away by themselves (a busy database, a passing I/O error): retried. */
const TRANSIENT: ReadonlySet<string> = new Set<ErrorCode>(["busy", "store", "io"]);

/** A label (or skip) the screen has moved past but the backend has not committed yet. */
export interface Write {
  id: number;
  /** The uid of the project the label was given in: the backend refuses it in another one. */
  project: string;
  pair: number;
  /** The relation chosen (`none` included); `null` for a skip. */
  relation: string | null;
  /** The suggestion that was on screen; the backend decides from it whether this is a fix. */
  shown: ShownSuggestion | null;
  /** Why the last attempt failed; `null` until one fails. */
  error: string | null;
  code: ErrorCode | "ipc" | null;
  attempts: number;
  /** Whether an automatic retry is scheduled. */
  retrying: boolean;
}

export const isTransient = (code: Write["code"]): boolean => code !== null && TRANSIENT.has(code);

/** How a write is named on screen. */
export function describeWrite(w: Write): string {
  return w.relation === null ? `skip of pair ${w.pair}` : `${w.relation} ← pair ${w.pair}`;
}

/** "1 label" / "3 labels". */
export function labels(n: number): string {
  return n === 1 ? "1 label" : `${n} labels`;
}

/** "1 label is" / "3 labels are". */
export function labelsAre(n: number): string {
  return `${labels(n)} ${n === 1 ? "is" : "are"}`;
}

export class Session {
  /** The uid of the open project; writes carry it. */
  project: string | null;
  queue = $state<QueueKind>("seed");
  item = $state<ItemView | null>(null);
  counts = $state<CountsView | null>(null);
  /** The last thing that happened, for the status line. */
  status = $state("");
  /** Why the queue or an item could not be read (write errors are on their `Write`). */
  error = $state<string | null>(null);
  loading = $state(false);
  /** Whether the queue is exhausted. */
  empty = $state(false);
  /** Writes not committed yet, oldest first; only the first is ever sent. */
  writes = $state.raw<Write[]>([]);
  /** Whether the first write is being sent. */
  sending = $state(false);

  /**
   * Counts cost a pass over the whole queue on the backend, so they are fetched once labeling
   * pauses for this long (ms) rather than after every write; meanwhile each committed write
   * moves them by one (see `bump`).
   */
  countsDelay = 500;
  /** Automatic retries wait this long (ms), doubling each time up to `retryMax`. */
  retryBase = 1000;
  retryMax = 10_000;
  /** Called after each newly shown item, with the key event's time stamp. */
  onShown: ((since: number) => void) | null = null;

  private ids: number[] = [];
  private pos = 0;
  private items = new Map<number, Promise<ItemView>>();
  private nextId = 1;
  /** Sends started so far: a counts read that overlapped one may be stale. */
  private sends = 0;
  /** Set while an undo runs, which must not interleave with label writes. */
  private held = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private countsTimer: ReturnType<typeof setTimeout> | null = null;
  private waiters = new Set<() => void>();

  constructor(project: string | null = null) {
    this.project = project;
  }

  /** The writes that failed and wait for a retry or a discard. */
  get unsaved(): Write[] {
    return this.writes.filter((w) => w.error !== null);
  }

  /**
   * Starts on another project (once `leave` allowed it): its queue is loaded afresh. Writes of
   * the previous project would be refused by the backend, so there must be none left.
   */
  open(project: string): void {
    if (this.writes.length > 0) throw new Error(`${labelsAre(this.writes.length)} not saved in the open project`);
    this.project = project;
    if (this.countsTimer !== null) clearTimeout(this.countsTimer);
    this.countsTimer = null;
    this.queue = "seed";
    this.ids = [];
    this.pos = 0;
    this.items.clear();
    this.item = null;
    this.counts = null;
    this.status = "";
    this.error = null;
    this.empty = false;
  }

  async load(queue: QueueKind = this.queue): Promise<void> {
    this.queue = queue;
    this.loading = true;
    this.error = null;
    try {
      await this.settled();
      const w = await call("queue_window", { queue, limit: WINDOW });
      this.ids = w.pairs;
      this.pos = 0;
      this.items.clear();
      this.empty = this.ids.length === 0;
      this.item = this.empty ? null : await this.fetch(this.ids[0]);
      this.prefetch();
      this.refreshCounts(0);
    } catch (e) {
      this.error = messageOf(e);
    } finally {
      this.loading = false;
    }
  }

  private fetch(pair: number, fresh = false): Promise<ItemView> {
    let p = fresh ? undefined : this.items.get(pair);
    if (!p) {
      p = call("pair_item", { pair });
      // A failed prefetch is retried when the item is needed.
      p.catch(() => this.items.delete(pair));
      this.items.set(pair, p);
    }
    return p;
  }

  private prefetch(): void {
    for (let i = this.pos + 1; i <= this.pos + PREFETCH && i < this.ids.length; i++) {
      void this.fetch(this.ids[i]).catch(() => undefined);
    }
  }

  // --- the write queue ---------------------------------------------------------------------

  private enqueue(pair: number, relation: string | null, shown: ShownSuggestion | null): void {
    const w: Write = { id: this.nextId++, project: this.project ?? "", pair, relation, shown, error: null, code: null, attempts: 0, retrying: false };
    this.setWrites([...this.writes, w]);
    void this.drain();
  }

  private setWrites(writes: Write[]): void {
    this.writes = writes;
    this.changed();
  }

  private changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves `true` once `done()` holds (checked on every change of the queue), `false` on timeout. */
  private until(done: () => boolean, timeoutMs = Infinity): Promise<boolean> {
    if (done()) return Promise.resolve(true);
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | null = null;
      const finish = (ok: boolean) => {
        this.waiters.delete(check);
        if (timer !== null) clearTimeout(timer);
        resolve(ok);
      };
      const check = () => {
        if (done()) finish(true);
      };
      this.waiters.add(check);
      if (Number.isFinite(timeoutMs)) timer = setTimeout(() => finish(false), timeoutMs);
    });
  }

  /** Nothing is being sent and nothing can be until a failed write is retried or discarded. */
  private idle(): boolean {
    return !this.sending && !this.held && (this.writes.length === 0 || this.writes[0].error !== null);
  }

  /**
   * Sends the writes one at a time, in order. A failed one stays first and stops the others
   * (an undo or a relabel of the same pair must not overtake it); `retry` starts again with it.
   */
  private async drain(retry = false): Promise<void> {
    if (this.sending || this.held) return;
    while (this.writes.length > 0) {
      const head = this.writes[0];
      if (head.error !== null && !retry) break;
      retry = false;
      this.sending = true;
      this.sends++;
      this.changed();
      try {
        await this.send(head);
        this.setWrites(this.writes.filter((w) => w.id !== head.id));
        if (head.relation !== null) this.bump();
      } catch (e) {
        this.failed(head, e);
      } finally {
        this.sending = false;
        this.changed();
      }
      this.refreshCounts();
    }
  }

  private send(w: Write): Promise<unknown> {
    if (w.relation === null) return call("skip_pair", { project: w.project, pair: w.pair });
    const shown = w.shown && { model_version: w.shown.model_version, relation: w.shown.relation, probability: w.shown.probability };
    return call("annotate_pair", { project: w.project, pair: w.pair, relation: w.relation, shown });
  }

  private failed(w: Write, e: unknown): void {
    const code = e instanceof CommandError ? e.code : "ipc";
    const attempts = w.attempts + 1;
    const retrying = isTransient(code);
    this.setWrites(this.writes.map((x) => (x.id === w.id ? { ...w, error: messageOf(e), code, attempts, retrying } : x)));
    if (retrying) {
      const delay = Math.min(this.retryMax, this.retryBase * 2 ** (attempts - 1));
      this.clearRetry();
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        void this.drain(true);
      }, delay);
    }
  }

  private clearRetry(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Sends a failed write again now (the "Retry now" button). */
  retry(id: number): void {
    if (this.writes[0]?.id !== id || this.writes[0].error === null || this.sending) return;
    this.clearRetry();
    void this.drain(true);
  }

  /** Gives a failed write up (the pair stays as it was in the project); the next ones proceed. */
  discard(id: number): void {
    const w = this.writes.find((x) => x.id === id);
    if (!w || w.error === null || (this.sending && this.writes[0].id === id)) return;
    if (this.writes[0].id === id) this.clearRetry();
    this.setWrites(this.writes.filter((x) => x.id !== id));
    this.status = `discarded ${describeWrite(w)}`;
    void this.drain();
  }

  /** Resolves when every write is committed or the first one failed. */
  settled(): Promise<unknown> {
    return this.until(() => this.idle());
  }

  /**
   * Waits up to `timeoutMs` for every write to be committed (a transient failure is retried at
   * once, then as scheduled); says how many are left. A failure that is not retried
   * automatically ends the wait early.
   */
  async flush(timeoutMs = 15_000): Promise<{ unsaved: number }> {
    const head = this.writes[0];
    if (head?.retrying) this.retry(head.id);
    await this.until(
      () => this.writes.length === 0 || (this.idle() && !this.writes[0].retrying),
      timeoutMs,
    );
    return { unsaved: this.writes.length };
  }

  /**
   * Before another project opens: waits for the writes, and says why the switch must not happen
   * when some are not saved (they would be refused in the other project). `null`: go ahead.
   */
  async leave(timeoutMs = 15_000): Promise<string | null> {
    // A failure on screen is the annotator's to resolve: no point waiting for it.
    const left = this.unsaved.length > 0 ? this.writes.length : (await this.flush(timeoutMs)).unsaved;
    return left > 0 ? `${labelsAre(left)} not saved in the open project: retry or discard them first` : null;
  }

  refreshCounts(delay = this.countsDelay): void {
    if (this.countsTimer !== null) clearTimeout(this.countsTimer);
    this.countsTimer = setTimeout(() => {
      this.countsTimer = null;
      if (!this.idle()) return; // the write being sent schedules the next refresh
      // A read that overlapped a send may or may not include it, and the send's `bump` would
      // then count it twice: such a read is dropped.
      const sends = this.sends;
      call("queue_counts", { queue: this.queue }).then(
        (c) => {
          if (this.sends === sends && !this.sending) this.counts = c;
        },
        (e) => {
          this.error = messageOf(e);
        },
      );
    }, delay);
  }

  /** A committed label moves the counts at once; the backend's figures follow when labeling pauses. */
  private bump(): void {
    if (!this.counts) return;
    this.counts = {
      ...this.counts,
      labeled_today: this.counts.labeled_today + 1,
      left_in_queue: Math.max(0, this.counts.left_in_queue - 1),
    };
  }

  // --- moving through the queue ------------------------------------------------------------

  /** Moves to position `pos` of the window (reloading the queue past its end). */
  private async show(pos: number, since: number, fresh = false): Promise<void> {
    if (pos >= this.ids.length) {
      await this.load(this.queue);
      this.onShown?.(since);
      return;
    }
    this.pos = Math.max(0, pos);
    const pair = this.ids[this.pos];
    const cached = fresh ? undefined : this.items.get(pair);
    try {
      this.item = await (cached ?? this.fetch(pair, true));
      this.error = null;
    } catch (e) {
      this.error = messageOf(e);
    }
    this.onShown?.(since);
    this.prefetch();
  }

  /** Queues the label `relation` for the item on screen, with the suggestion it showed. */
  private annotate(item: ItemView, relation: string): void {
    const s = item.suggestion;
    this.enqueue(item.pair, relation, s && { model_version: s.model_version, relation: s.relation, probability: s.probability });
    this.items.delete(item.pair);
  }

  async act(action: Action, since = performance.now()): Promise<void> {
    const item = this.item;
    if (action.kind === "queue") return this.load(action.queue);
    if (action.kind === "undo") return this.undo(since);
    if (!item) return;
    const pair = item.pair;
    switch (action.kind) {
      case "label":
      case "none": {
        const choices = item.relations.filter((r) => r.name !== "none");
        const relation = action.kind === "none" ? "none" : choices[action.index]?.name;
        if (!relation) {
          this.status = `no relation ${action.kind === "label" ? action.index + 1 : ""} for this pair`;
          return;
        }
        // Not awaited: the next pair shows while the label is written (the view says "saving").
        this.annotate(item, relation);
        this.status = `${relation} ← pair ${pair}`;
        return this.show(this.pos + 1, since);
      }
      case "confirm": {
        if (!item.suggestion) {
          this.status = "no suggestion to confirm yet: train a model first";
          return;
        }
        const relation = item.suggestion.relation;
        this.annotate(item, relation);
        this.status = `confirmed ${relation} ← pair ${pair}`;
        return this.show(this.pos + 1, since);
      }
      case "skip":
        this.enqueue(pair, null, null);
        this.status = `skipped pair ${pair}`;
        return this.show(this.pos + 1, since);
      case "next":
        return this.show(this.pos + 1, since);
      case "prev":
        if (this.pos === 0) return;
        await this.settled();
        return this.show(this.pos - 1, since, true);
    }
  }

  private async undo(since: number): Promise<void> {
    await this.settled();
    // The last committed label is not the last one given while an earlier one is unsaved.
    if (this.writes.length > 0) {
      this.status = "save or discard the unsaved labels first";
      return;
    }
    if (this.project === null) return;
    // Labels given while the undo runs are written after it.
    this.held = true;
    const release = () => {
      if (!this.held) return;
      this.held = false;
      this.changed();
      void this.drain();
    };
    try {
      const undone = await call("undo_label", { project: this.project });
      release();
      if (!undone) {
        this.status = "nothing to undo";
        return;
      }
      this.items.delete(undone.pair);
      let at = this.ids.indexOf(undone.pair);
      if (at < 0) {
        this.ids.splice(this.pos, 0, undone.pair);
        at = this.pos;
      }
      this.status = `undid the label of pair ${undone.pair}` + (undone.restored ? ` (back to ${undone.restored})` : "");
      await this.show(at, since, true);
      this.refreshCounts(0);
    } catch (e) {
      this.error = messageOf(e);
    } finally {
      release();
    }
  }
}
