// End-to-end test of the desktop app on its real window: tauri-driver + WebKitWebDriver, under
// xvfb (`./run-tests` runs it as `xvfb-run -a node --test tests/desktop/`). It opens a fresh
// demo project (created on first start in a temporary data directory), labels 20 pairs with
// the keyboard only, undoes one, checks the counts on screen against `emrel stats --json`,
// trains a short model while labeling on and watches the progress move, confirms a suggestion,
// exports JSONL and reads the file back. It prints the p95 time from key press to the frame
// showing the next pair, and saves screenshots of the annotate and training views.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { KEY, Session, until } from "./webdriver.mjs";

const root = resolve(import.meta.dirname, "../..");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const app = process.env.EMREL_DESKTOP_BIN ?? join(target, "debug/emrel-desktop");
const cli = process.env.EMREL_CLI_BIN ?? join(target, "debug/emrel");
const artifacts = process.env.EMREL_E2E_ARTIFACTS ?? join(target, "e2e");
// About 100k candidate pairs: the latency bar holds on a project of that size.
const sentences = process.env.EMREL_E2E_SENTENCES ?? "14600";
const port = Number(process.env.EMREL_E2E_PORT ?? 4444);
const dataDir = mkdtempSync(join(tmpdir(), "emrel-e2e-"));
const db = join(dataDir, "demo.db");

let driver;
let s;

async function stopDriver() {
  if (!driver || driver.exitCode !== null) return;
  // SIGTERM lets tauri-driver end WebKitWebDriver too; SIGKILL would orphan it with our pipes.
  const gone = new Promise((r) => driver.once("exit", r));
  driver.kill("SIGTERM");
  await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
}

before(async () => {
  assert.ok(existsSync(app), `build the app first: ${app} is missing`);
  assert.ok(existsSync(cli), `build the CLI first: ${cli} is missing`);
  mkdirSync(artifacts, { recursive: true });
  driver = spawn("tauri-driver", ["--port", String(port)], {
    env: { ...process.env, EMREL_DATA_DIR: dataDir, EMREL_DEMO_SENTENCES: sentences, EMREL_ANNOTATOR: "e2e" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  await until("tauri-driver", () => fetch(`${base}/status`).then((r) => r.ok, () => false), 30000, 200);
  s = await Session.create(base, { browserName: "wry", "tauri:options": { application: app } });
});

after(async () => {
  if (s) await s.delete().catch(() => undefined);
  await stopDriver();
});

const text = (testid) =>
  s.exec(`const e = document.querySelector('[data-testid="${testid}"]'); return e ? e.textContent.trim() : null;`);
const currentPair = () =>
  s.exec(`const e = document.querySelector('[data-testid="pair"]'); return e ? Number(e.dataset.pair) : null;`);
const click = (selector) =>
  s.exec(`const e = document.querySelector(arguments[0]); if (!e) return false; e.click(); return true;`, selector);

/** Presses `key` and waits until another pair shows; returns it. */
async function pressForNext(key) {
  const before = await currentPair();
  await s.press([key]);
  return until(`a pair other than ${before} after ${JSON.stringify(key)}`, async () => {
    const p = await currentPair();
    return p !== null && p !== before ? p : null;
  });
}

async function saveScreenshot(name) {
  // Two animation frames: the last state change is painted before the picture is taken.
  await s.execAsync(`await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));`);
  const file = join(artifacts, `${name}.png`);
  writeFileSync(file, await s.screenshot());
  return file;
}

function stats() {
  return JSON.parse(execFileSync(cli, ["stats", "--json", "--project", db], { encoding: "utf8" }));
}

function latencies() {
  return s.exec(`return performance.getEntriesByName("keypress-to-pair").map((m) => m.duration);`);
}

function percentile(xs, q) {
  const v = [...xs].sort((a, b) => a - b);
  return v[Math.max(0, Math.min(v.length - 1, Math.ceil(v.length * q) - 1))];
}

test("annotate, train, confirm and export in the real window", { timeout: 20 * 60 * 1000 }, async () => {
  // First start: the demo project is created in the data directory and opened on the annotate view.
  await until("the first pair", currentPair, 180000, 200);
  assert.match(await text("project-name"), /^demo · emr-paper · e2e/);
  const total = stats().pairs;
  console.log(`demo project: ${total} pairs`);
  await until("the counts", () => text("left-in-queue"), 60000);

  // Label 20 pairs with the keyboard only: relation 1 and `none` in turn.
  const labeled = [];
  for (let i = 0; i < 20; i++) {
    labeled.push(await currentPair());
    await pressForNext(i % 2 === 0 ? "1" : "n");
  }
  assert.equal(new Set(labeled).size, 20, "every key press moved on to a new pair");

  // Undo the last one: its pair shows again.
  await s.press([KEY.Backspace]);
  await until("the undone pair", async () => (await currentPair()) === labeled[19]);
  await until("19 labeled today", async () => (await text("labeled-today")) === "19", 60000);
  await saveScreenshot("annotate");

  // The counts on screen match the CLI's statistics of the same database.
  // Labels given before any model is current are seed labels, later ones human labels.
  const st = stats();
  const human = Object.values(st.labels).reduce((n, by) => n + (by.human ?? 0) + (by.seed ?? 0), 0);
  assert.equal(human, 19, "19 labels given in the window are in the database");
  assert.equal(Number(await text("labeled-today")), human);
  await until("left in queue = unlabeled pairs", async () => Number(await text("left-in-queue")) === st.unlabeled_pairs, 60000);

  // Start a short training, keep labeling while it runs, and watch the progress move.
  await click('[data-view="training"]');
  await until("the training form", () => s.exec(`return !!document.querySelector('[data-testid="start-training"]');`));
  await s.exec(`
    const set = (label, v) => { const e = document.querySelector('[aria-label="' + label + '"]'); e.value = v; e.dispatchEvent(new Event(e.tagName === "SELECT" ? "change" : "input", { bubbles: true })); };
    set("preset", "tiny"); set("epochs", "3");`);
  // This journey watches one training; automatic bootstrapping afterwards is tested elsewhere.
  // The form loads the saved settings asynchronously, so untick and save until a poll finds the
  // box unticked without touching it.
  await until(
    "automatic bootstrapping off",
    () =>
      s.exec(`const a = document.querySelector('[aria-label="auto bootstrap"]');
        if (a.checked) { a.click(); document.querySelector('[data-testid="save-settings"]').click(); return false; }
        return true;`),
    30000,
    300,
  );
  await click('[data-testid="start-training"]');
  await until("the job to start", () => text("job-chip"), 30000);
  await click('[data-view="annotate"]');
  await until("the annotate view", currentPair);
  const seen = new Set();
  for (let i = 0; i < 10; i++) {
    await pressForNext(i % 2 === 0 ? "n" : "1");
    const chip = await text("job-chip");
    if (chip) seen.add(chip);
  }
  await until("training to finish", async () => {
    const chip = await text("job-chip");
    if (chip) seen.add(chip);
    return chip === null;
  }, 15 * 60 * 1000, 200);
  console.log(`job progress: ${seen.size} distinct values seen in the header while labeling`);
  assert.ok(seen.size >= 2, `the progress moved (${[...seen].join(", ")})`);

  await click('[data-view="training"]');
  const outcome = await until("the job outcome", () => text("job-outcome"), 30000);
  assert.equal(outcome, "succeeded");
  await until("the new model's F1", () => text("current-f1"), 30000);
  await saveScreenshot("training");

  // Confirm a suggestion of the new model with Enter.
  await click('[data-view="annotate"]');
  await until("a suggestion", () => text("suggestion"), 60000);
  const before = stats();
  const confirmed = await currentPair();
  await pressForNext(KEY.Enter);
  await until("the confirmation", async () => (await text("status"))?.startsWith("confirmed"));
  await until("the confirmation to be stored", async () => {
    const after = stats();
    const n = (x) => Object.values(x.labels).reduce((k, by) => k + (by.human ?? 0) + (by.seed ?? 0), 0);
    return n(after) === n(before) + 1;
  }, 30000);

  // Export JSONL and read the file back.
  const out = join(dataDir, "export.jsonl");
  await click('[data-view="export"]');
  await until("the export form", () => s.exec(`return !!document.querySelector('[aria-label="destination"]');`));
  await s.exec(`const e = document.querySelector('[aria-label="destination"]'); e.value = arguments[0]; e.dispatchEvent(new Event("input", { bubbles: true }));`, out);
  await click('[data-testid="export"]');
  const summary = await until("the export summary", () => text("export-summary"), 120000);
  const lines = readFileSync(out, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const labels = lines.flatMap((l) => l.labels);
  const mine = labels.filter((l) => (l.source === "human" || l.source === "seed") && l.annotator === "e2e");
  assert.equal(lines.length, stats().sentences, "one line per sentence");
  assert.ok(mine.some((l) => l.head && l.tail && l.relation), "human labels with provenance");
  assert.equal(mine.length, 19 + 10 + 1, "every label given in the window, the undone one not");
  assert.match(summary, new RegExp(`${lines.length} sentences`));

  const ms = await latencies();
  const p = percentile(ms, 0.95);
  console.log(
    `keypress → next pair rendered on a ${total}-pair project: n=${ms.length}, ` +
      `p50=${percentile(ms, 0.5).toFixed(1)} ms, p95=${p.toFixed(1)} ms, max=${Math.max(...ms).toFixed(1)} ms`,
  );
  writeFileSync(join(artifacts, "latency.json"), JSON.stringify({ pairs: total, samples: ms, p95: p }, null, 1));
  assert.ok(ms.length >= 30, `latency samples: ${ms.length}`);
  // Printed and kept as an artifact, not asserted: the target (≤ 50 ms) is a speed goal, and
  // shared CI machines are too noisy for timed assertions.
});
