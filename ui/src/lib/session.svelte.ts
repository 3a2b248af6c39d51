// The annotate view's state and logic, apart from any component so it is tested with a mocked
// backend. The next pair must appear at once after a key press, so the session keeps a window
// of the queue and the next items prefetched, shows the next item before the label is written,
// and writes labels in order in the background; counts follow when the writes land.

import { call, messageOf, type CountsView, type ItemView, type QueueKind } from "./backend";
import type { Action } from "./keys";

const WINDOW = 200;
/** Items fetched ahead: enough that a fast annotator does not catch up with the backend. */
const PREFETCH = 6;

export class Session {
  queue = $state<QueueKind>("seed");
  item = $state<ItemView | null>(null);
  counts = $state<CountsView | null>(null);
  /** The last thing that happened, for the status line. */
  status = $state("");
  error = $state<string | null>(null);
  loading = $state(false);
  /** Whether the queue is exhausted. */
  empty = $state(false);

  private ids: number[] = [];
  private pos = 0;
  private items = new Map<number, Promise<ItemView>>();
  private writes: Promise<unknown> = Promise.resolve();
  private pendingWrites = 0;
  private countsTimer: ReturnType<typeof setTimeout> | null = null;
  /**
   * Counts cost a pass over the whole queue on the backend, so they are fetched once labeling
   * pauses for this long (ms) rather than after every write; the numbers on screen move at once
   * meanwhile (see `bump`).
   */
  countsDelay = 500;
  /** Called after each newly shown item, with the key event's time stamp. */
  onShown: ((since: number) => void) | null = null;

  async load(queue: QueueKind = this.queue): Promise<void> {
    this.queue = queue;
    this.loading = true;
    this.error = null;
    try {
      await this.writes;
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

  /** Queues a write after the earlier ones; errors surface in the status line. */
  private write(what: () => Promise<unknown>): void {
    this.pendingWrites++;
    this.writes = this.writes
      .then(what)
      .catch((e) => {
        this.error = messageOf(e);
      })
      .finally(() => {
        this.pendingWrites--;
        this.refreshCounts();
      });
  }

  /** Resolves when every label written so far is committed. */
  settled(): Promise<unknown> {
    return this.writes;
  }

  refreshCounts(delay = this.countsDelay): void {
    if (this.countsTimer !== null) clearTimeout(this.countsTimer);
    this.countsTimer = setTimeout(() => {
      this.countsTimer = null;
      if (this.pendingWrites > 0) return; // the last write schedules the next refresh
      call("queue_counts", { queue: this.queue }).then(
        (c) => {
          if (this.pendingWrites === 0) this.counts = c;
        },
        (e) => {
          this.error = messageOf(e);
        },
      );
    }, delay);
  }

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
        const s = item.suggestion;
        if (s && s.relation === relation) {
          this.write(() => call("confirm_pair", { pair }));
        } else {
          this.write(() => call("label_pair", { pair, relation, fix: s !== null }));
        }
        this.items.delete(pair);
        this.bump();
        this.status = `${relation} ← pair ${pair}`;
        return this.show(this.pos + 1, since);
      }
      case "confirm": {
        if (!item.suggestion) {
          this.status = "no suggestion to confirm yet: train a model first";
          return;
        }
        const relation = item.suggestion.relation;
        this.write(() => call("confirm_pair", { pair }));
        this.items.delete(pair);
        this.bump();
        this.status = `confirmed ${relation} ← pair ${pair}`;
        return this.show(this.pos + 1, since);
      }
      case "skip":
        this.write(() => call("skip_pair", { pair }));
        this.status = `skipped pair ${pair}`;
        return this.show(this.pos + 1, since);
      case "next":
        return this.show(this.pos + 1, since);
      case "prev":
        if (this.pos === 0) return;
        await this.writes;
        return this.show(this.pos - 1, since, true);
    }
  }

  /** Counts move at once; the backend's figures replace them when the write lands. */
  private bump(): void {
    if (!this.counts) return;
    this.counts = {
      ...this.counts,
      labeled_today: this.counts.labeled_today + 1,
      left_in_queue: Math.max(0, this.counts.left_in_queue - 1),
    };
  }

  private async undo(since: number): Promise<void> {
    await this.writes;
    try {
      const undone = await call("undo_label", {});
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
    }
  }
}
