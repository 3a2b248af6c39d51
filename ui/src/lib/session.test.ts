import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { Session } from "./session.svelte";
import { mockBackend, project } from "../test/fixtures";

describe("the annotation session", () => {
  beforeEach(() => clearMocks());
  afterEach(() => clearMocks());

  it("shows the next pair before the label is written, and writes labels in order", async () => {
    const backend = mockBackend({ delay: 50 });
    const s = new Session(project.uid);
    await s.load("seed");
    expect(s.item?.pair).toBe(1);
    const shown: number[] = [];
    s.onShown = () => shown.push(s.item!.pair);
    await s.act({ kind: "label", index: 0 }); // SAP on pair 1
    expect(s.item?.pair).toBe(2);
    expect(backend.labels).toEqual([]); // still being written
    await s.act({ kind: "none" }); // none on pair 2
    expect(s.item?.pair).toBe(3);
    await s.settled();
    expect(backend.labels).toEqual([
      { pair: 1, relation: "SAP" },
      { pair: 2, relation: "none" },
    ]);
    expect(shown).toEqual([2, 3]);
  });

  it("undo returns to the pair whose label it took back", async () => {
    const backend = mockBackend();
    const s = new Session(project.uid);
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "label", index: 0 });
    expect(s.item?.pair).toBe(3);
    await s.act({ kind: "undo" });
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
    expect(s.item?.pair).toBe(2);
    expect(s.status).toMatch(/undid the label of pair 2/);
  });

  it("sends the relation chosen with the suggestion shown: Enter confirms, another relation fixes", async () => {
    const backend = mockBackend({ suggestion: true });
    const s = new Session(project.uid);
    await s.load("confirm");
    await s.act({ kind: "confirm" });
    await s.act({ kind: "none" });
    await s.settled();
    const shown = { model_version: 1, relation: "SAP", probability: 0.91 };
    expect(backend.writes()).toEqual([
      { cmd: "annotate_pair", args: { project: "uid-demo", pair: 1, relation: "SAP", shown } },
      { cmd: "annotate_pair", args: { project: "uid-demo", pair: 2, relation: "none", shown: { ...shown, relation: "DAP" } } },
    ]);
    // The backend, not the view, tells a confirmation from a fix.
    expect(backend.actions).toEqual(["confirm", "fix"]);
  });

  it("without a suggestion on screen the label is sent with none shown", async () => {
    const backend = mockBackend();
    const s = new Session(project.uid);
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.settled();
    expect(backend.writes()).toEqual([{ cmd: "annotate_pair", args: { project: "uid-demo", pair: 1, relation: "SAP", shown: null } }]);
    expect(backend.actions).toEqual(["set"]);
  });

  it("says so when there is no suggestion to confirm, and writes nothing", async () => {
    const backend = mockBackend();
    const s = new Session(project.uid);
    await s.load("seed");
    await s.act({ kind: "confirm" });
    expect(s.item?.pair).toBe(1);
    expect(s.status).toMatch(/no suggestion/);
    expect(backend.writes()).toEqual([]);
  });

  it("counts only committed labels: they move when a write lands and are re-read once labeling pauses", async () => {
    const backend = mockBackend();
    const s = new Session(project.uid);
    s.countsDelay = 30;
    await s.load("seed");
    await new Promise((r) => setTimeout(r, 10));
    expect(s.counts?.labeled_today).toBe(0);
    const release = backend.hold();
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "label", index: 0 });
    await new Promise((r) => setTimeout(r, 60));
    // Two labels given, none committed: the counts say so.
    expect(s.counts).toMatchObject({ labeled_today: 0, left_in_queue: 3 });
    expect(s.writes.map((w) => w.pair)).toEqual([1, 2]);
    const reads = backend.calls.filter((c) => c.cmd === "queue_counts").length;
    release();
    await s.settled();
    expect(s.counts).toMatchObject({ labeled_today: 2, left_in_queue: 1 });
    expect(s.writes).toEqual([]);
    await new Promise((r) => setTimeout(r, 60));
    expect(backend.calls.filter((c) => c.cmd === "queue_counts").length).toBe(reads + 1);
    expect(s.counts).toEqual({ labeled_today: 2, left_in_queue: 1, reliable: 0, batch_size: 1000 });
  });

  it("skip and arrows move without labeling; ← shows the previous pair again", async () => {
    const backend = mockBackend();
    const s = new Session(project.uid);
    await s.load("seed");
    await s.act({ kind: "skip" });
    await s.act({ kind: "next" });
    expect(s.item?.pair).toBe(3);
    await s.act({ kind: "prev" });
    expect(s.item?.pair).toBe(2);
    expect(backend.calls.filter((c) => c.cmd === "skip_pair")).toEqual([{ cmd: "skip_pair", args: { project: "uid-demo", pair: 1 } }]);
    expect(backend.labels).toEqual([]);
  });

  it("shows a backend error as its message", async () => {
    mockBackend({ pairs: [] });
    const s = new Session(project.uid);
    await s.load("seed");
    expect(s.empty).toBe(true);
    await s.act({ kind: "queue", queue: "uncertain" });
    expect(s.error).toBeNull();
  });

  it("a label refused as busy stays on screen across key presses, is retried after 1 s, then 2 s, and the later labels follow it", async () => {
    vi.useFakeTimers();
    try {
      const backend = mockBackend();
      backend.fail("busy", 2, "the database is busy");
      const s = new Session(project.uid);
      await s.load("seed");
      await s.act({ kind: "label", index: 0 }); // pair 1: SAP, refused twice
      await vi.advanceTimersByTimeAsync(0);
      const failed = () => s.unsaved.map((w) => [w.pair, w.relation, w.error]);
      expect(failed()).toEqual([[1, "SAP", "the database is busy"]]);
      await s.act({ kind: "none" }); // pair 2 waits behind pair 1
      expect(s.item?.pair).toBe(3); // the key press did not wait for the writes
      await vi.advanceTimersByTimeAsync(999);
      expect(failed()).toEqual([[1, "SAP", "the database is busy"]]);
      expect(backend.writes().map((c) => c.args.pair)).toEqual([1]);
      await vi.advanceTimersByTimeAsync(1);
      expect(backend.writes().map((c) => c.args.pair)).toEqual([1, 1]);
      expect(failed()).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1999);
      expect(backend.writes().map((c) => c.args.pair)).toEqual([1, 1]);
      await vi.advanceTimersByTimeAsync(1);
      expect(backend.writes().map((c) => c.args.pair)).toEqual([1, 1, 1, 2]);
      expect(backend.labels).toEqual([
        { pair: 1, relation: "SAP" },
        { pair: 2, relation: "none" },
      ]);
      expect(s.writes).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("automatic retries back off up to 10 s and go on while the session lives", async () => {
    vi.useFakeTimers();
    try {
      const backend = mockBackend();
      backend.fail("io", 6);
      const s = new Session(project.uid);
      await s.load("seed");
      await s.act({ kind: "label", index: 0 });
      // Attempts at 0, 1, 3, 7, 15 s, then every 10 s.
      await vi.advanceTimersByTimeAsync(15_000);
      expect(backend.writes()).toHaveLength(5);
      await vi.advanceTimersByTimeAsync(9_999);
      expect(backend.writes()).toHaveLength(5);
      await vi.advanceTimersByTimeAsync(1);
      expect(backend.writes()).toHaveLength(6);
      expect(s.unsaved).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(10_000);
      expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
      expect(s.unsaved).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a refused label is not retried by itself: later labels wait until it is discarded", async () => {
    const backend = mockBackend();
    backend.fail("invalid", 1, "SAP is not valid for this pair");
    const s = new Session(project.uid);
    s.retryBase = 5;
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "none" });
    await new Promise((r) => setTimeout(r, 50));
    expect(s.unsaved.map((w) => [w.pair, w.code, w.error])).toEqual([[1, "invalid", "SAP is not valid for this pair"]]);
    expect(s.writes).toHaveLength(2);
    expect(backend.writes()).toHaveLength(1); // neither retried nor overtaken
    s.discard(s.unsaved[0].id);
    await s.settled();
    expect(s.status).toBe("discarded SAP ← pair 1");
    expect(backend.labels).toEqual([{ pair: 2, relation: "none" }]);
    expect(s.writes).toEqual([]);
  });

  it("Retry now sends a refused label again, first", async () => {
    const backend = mockBackend();
    backend.fail("no_model", 1);
    const s = new Session(project.uid);
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "none" });
    await s.settled();
    expect(s.unsaved).toHaveLength(1);
    s.retry(s.unsaved[0].id);
    await s.settled();
    expect(backend.labels).toEqual([
      { pair: 1, relation: "SAP" },
      { pair: 2, relation: "none" },
    ]);
    expect(s.unsaved).toEqual([]);
  });

  it("undo does not run while a label is unsaved", async () => {
    const backend = mockBackend();
    backend.fail("invalid");
    const s = new Session(project.uid);
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "undo" });
    expect(s.status).toBe("save or discard the unsaved labels first");
    expect(backend.calls.some((c) => c.cmd === "undo_label")).toBe(false);
    expect(s.unsaved).toHaveLength(1);
  });

  it("flush waits for the pending writes, and says how many are left when it cannot", async () => {
    const backend = mockBackend({ pairs: [1, 2, 3, 4] });
    const s = new Session(project.uid);
    await s.load("seed");
    const release = backend.hold();
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "skip" });
    let flushed: { unsaved: number } | null = null;
    const flushing = s.flush(5_000).then((r) => (flushed = r));
    await new Promise((r) => setTimeout(r, 30));
    expect(flushed).toBeNull();
    release();
    await flushing;
    expect(flushed).toEqual({ unsaved: 0 });
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
    expect(backend.writes().map((c) => c.cmd)).toEqual(["annotate_pair", "skip_pair"]);

    // Writes that do not land in time are reported.
    backend.hold();
    await s.act({ kind: "none" });
    expect(await s.flush(30)).toEqual({ unsaved: 1 });
  });

  it("flush retries a busy label at once rather than at its backoff, and stops early on a refusal", async () => {
    const backend = mockBackend();
    backend.fail("busy");
    const s = new Session(project.uid);
    s.retryBase = 60_000;
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.settled();
    expect(s.unsaved).toHaveLength(1);
    expect(await s.flush(2_000)).toEqual({ unsaved: 0 });
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);

    backend.fail("project_changed");
    await s.act({ kind: "none" });
    await s.act({ kind: "none" });
    const started = Date.now();
    expect(await s.flush(5_000)).toEqual({ unsaved: 2 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it("another project may open once the writes are in, not while one is unsaved", async () => {
    const backend = mockBackend();
    const s = new Session(project.uid);
    await s.load("seed");
    const release = backend.hold();
    await s.act({ kind: "label", index: 0 });
    let answer: string | null | undefined;
    const leaving = s.leave(5_000).then((a) => (answer = a));
    await new Promise((r) => setTimeout(r, 30));
    expect(answer).toBeUndefined();
    release();
    await leaving;
    expect(answer).toBeNull();
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);

    backend.fail("invalid");
    await s.act({ kind: "none" });
    await s.settled();
    expect(await s.leave(5_000)).toBe("1 label is not saved in the open project: retry or discard them first");
    expect(() => s.open("uid-other")).toThrow(/not saved/);
    s.discard(s.unsaved[0].id);
    expect(await s.leave(5_000)).toBeNull();

    // On the other project the labels carry its uid and the queue is read afresh.
    backend.state.uid = "uid-other";
    s.open("uid-other");
    expect(s.item).toBeNull();
    await s.load();
    await s.act({ kind: "label", index: 0 });
    await s.settled();
    expect(backend.writes().at(-1)?.args).toMatchObject({ project: "uid-other" });
    expect(s.unsaved).toEqual([]);
  });
});
