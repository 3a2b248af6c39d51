import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { clearMocks } from "@tauri-apps/api/mocks";
import { Session } from "./session.svelte";
import { mockBackend } from "../test/fixtures";

describe("the annotation session", () => {
  beforeEach(() => clearMocks());
  afterEach(() => clearMocks());

  it("shows the next pair before the label is written, and writes labels in order", async () => {
    const backend = mockBackend({ delay: 50 });
    const s = new Session();
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
    const s = new Session();
    await s.load("seed");
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "label", index: 0 });
    expect(s.item?.pair).toBe(3);
    await s.act({ kind: "undo" });
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
    expect(s.item?.pair).toBe(2);
    expect(s.status).toMatch(/undid the label of pair 2/);
  });

  it("Enter confirms the suggestion, and a different relation is recorded as a fix", async () => {
    const backend = mockBackend({ suggestion: true });
    const s = new Session();
    await s.load("confirm");
    await s.act({ kind: "confirm" });
    await s.act({ kind: "none" });
    await s.settled();
    const writes = backend.calls.filter((c) => c.cmd === "confirm_pair" || c.cmd === "label_pair");
    expect(writes).toEqual([
      { cmd: "confirm_pair", args: { pair: 1 } },
      { cmd: "label_pair", args: { pair: 2, relation: "none", fix: true } },
    ]);
  });

  it("says so when there is no suggestion to confirm, and writes nothing", async () => {
    const backend = mockBackend();
    const s = new Session();
    await s.load("seed");
    await s.act({ kind: "confirm" });
    expect(s.item?.pair).toBe(1);
    expect(s.status).toMatch(/no suggestion/);
    expect(backend.calls.some((c) => c.cmd === "confirm_pair")).toBe(false);
  });

  it("counts move at once and are re-read from the backend once labeling pauses", async () => {
    const backend = mockBackend({ delay: 20 });
    const s = new Session();
    s.countsDelay = 30;
    await s.load("seed");
    await new Promise((r) => setTimeout(r, 10));
    expect(s.counts?.labeled_today).toBe(0);
    await s.act({ kind: "label", index: 0 });
    await s.act({ kind: "label", index: 0 });
    expect(s.counts).toMatchObject({ labeled_today: 2, left_in_queue: 1 });
    const reads = backend.calls.filter((c) => c.cmd === "queue_counts").length;
    await s.settled();
    await new Promise((r) => setTimeout(r, 60));
    expect(backend.calls.filter((c) => c.cmd === "queue_counts").length).toBe(reads + 1);
    expect(s.counts).toEqual({ labeled_today: 2, left_in_queue: 1, reliable: 0, batch_size: 1000 });
  });

  it("skip and arrows move without labeling; ← shows the previous pair again", async () => {
    const backend = mockBackend();
    const s = new Session();
    await s.load("seed");
    await s.act({ kind: "skip" });
    await s.act({ kind: "next" });
    expect(s.item?.pair).toBe(3);
    await s.act({ kind: "prev" });
    expect(s.item?.pair).toBe(2);
    expect(backend.calls.filter((c) => c.cmd === "skip_pair")).toEqual([{ cmd: "skip_pair", args: { pair: 1 } }]);
    expect(backend.labels).toEqual([]);
  });

  it("shows a backend error as its message", async () => {
    mockBackend({ pairs: [] });
    const s = new Session();
    await s.load("seed");
    expect(s.empty).toBe(true);
    await s.act({ kind: "queue", queue: "uncertain" });
    expect(s.error).toBeNull();
  });
});
