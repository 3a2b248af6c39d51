// The label path under a busy database and kill -9, on the real window (tauri-driver +
// WebKitWebDriver under xvfb, like e2e.test.mjs). Three journeys on one small demo project:
//   1. another process holds the database's write lock for 14 s (past the 10 s busy timeout)
//      while 12 labels are given: the view says they are being saved, counts none of them as
//      given, and once the lock is released every one of them is stored;
//   2. the same lock held, 12 labels given, the app killed with SIGKILL: no label the view
//      showed as given is missing (it showed none as given);
//   3. no lock, a fast burst, SIGKILL mid-burst: every label counted on screen is stored.
// The lock holder is a Python sqlite3 process (`BEGIN IMMEDIATE`); without python3 the test
// says so and fails, since `.ci/run` installs it.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { Session, until } from "./webdriver.mjs";

const root = resolve(import.meta.dirname, "../..");
const target = process.env.CARGO_TARGET_DIR ?? join(root, "target");
const app = process.env.EMREL_DESKTOP_BIN ?? join(target, "debug/emrel-desktop");
const cli = process.env.EMREL_CLI_BIN ?? join(target, "debug/emrel");
// Ports of its own (e2e.test.mjs uses 4444 and tauri-driver's default native port 4445): node
// may run the two files at the same time.
const port = Number(process.env.EMREL_E2E_PORT ?? 4444) + 2;
const dataDir = mkdtempSync(join(tmpdir(), "emrel-kill-"));
const db = join(dataDir, "demo.db");
const base = `http://127.0.0.1:${port}`;

let driver;
let s;

before(async () => {
  assert.ok(existsSync(app), `build the app first: ${app} is missing`);
  assert.ok(existsSync(cli), `build the CLI first: ${cli} is missing`);
  execFileSync("python3", ["-c", "import sqlite3"]);
  driver = spawn("tauri-driver", ["--port", String(port), "--native-port", String(port + 1)], {
    env: { ...process.env, EMREL_DATA_DIR: dataDir, EMREL_DEMO_SENTENCES: "300", EMREL_ANNOTATOR: "kill" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  await until("tauri-driver", () => fetch(`${base}/status`).then((r) => r.ok, () => false), 30000, 200);
});

after(async () => {
  if (s) await s.delete().catch(() => undefined);
  if (driver && driver.exitCode === null) {
    // SIGTERM lets tauri-driver end WebKitWebDriver too.
    const gone = new Promise((r) => driver.once("exit", r));
    driver.kill("SIGTERM");
    await Promise.race([gone, new Promise((r) => setTimeout(r, 5000))]);
  }
});

async function startApp() {
  s = await Session.create(base, { browserName: "wry", "tauri:options": { application: app } });
  await until("the first pair", currentPair, 180000, 200);
  await until("the counts", () => text("labeled-today"), 60000);
}

const text = (testid) =>
  s.exec(`const e = document.querySelector('[data-testid="${testid}"]'); return e ? e.textContent.trim() : null;`);
const currentPair = () =>
  s.exec(`const e = document.querySelector('[data-testid="pair"]'); return e ? Number(e.dataset.pair) : null;`);

/** The app's own process: the emrel-desktop whose environment names this test's data dir. */
function appPid() {
  for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8");
      const env = readFileSync(`/proc/${pid}/environ`, "utf8");
      if (cmd.startsWith(app) && env.includes(`EMREL_DATA_DIR=${dataDir}\0`)) return Number(pid);
    } catch {
      // a process that ended meanwhile
    }
  }
  return null;
}

async function killApp() {
  const pid = appPid();
  assert.ok(pid, "the app's process is found");
  process.kill(pid, "SIGKILL");
  await until("the app to be gone", async () => !existsSync(`/proc/${pid}`), 10000);
  await s.delete().catch(() => undefined);
  s = null;
}

/** Labels this window's annotator gave that are in the database (undone ones not counted). */
function stored() {
  const out = execFileSync(
    "python3",
    [
      "-c",
      `import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=60)
print(c.execute("""SELECT COUNT(*) FROM label_event e JOIN annotator a ON a.annotator_id = e.annotator_id
  WHERE a.name = 'kill' AND e.action IN ('set', 'confirm', 'fix')
  AND NOT EXISTS (SELECT 1 FROM label_event u WHERE u.undoes_event_id = e.label_event_id)""").fetchone()[0])
print(c.execute("PRAGMA integrity_check").fetchone()[0])`,
      db,
    ],
    { encoding: "utf8" },
  );
  const [n, check] = out.trim().split("\n");
  assert.equal(check, "ok", "integrity_check");
  return Number(n);
}

/** Holds the database's write lock for `seconds`; resolves once the lock is taken. */
async function holdWriteLock(seconds) {
  const p = spawn(
    "python3",
    ["-u", "-c", `import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
c.execute("ROLLBACK")`, db, String(seconds)],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise((resolveLocked, reject) => {
    p.stdout.on("data", (d) => String(d).includes("locked") && resolveLocked());
    p.once("exit", (code) => reject(new Error(`the lock holder ended (${code})`)));
  });
  return p;
}

async function label(n) {
  for (let i = 0; i < n; i++) {
    const before = await currentPair();
    await s.press([i % 2 === 0 ? "n" : "1"]);
    await until(`a pair other than ${before}`, async () => {
      const p = await currentPair();
      return p !== null && p !== before;
    });
  }
}

test("no label shown as given is lost to a busy database or a kill -9", { timeout: 15 * 60 * 1000 }, async () => {
  await startApp();
  let expected = stored();

  // 1. The write lock held past the busy timeout: nothing claimed, everything stored after.
  const lock = await holdWriteLock(14);
  const shownBefore = Number(await text("labeled-today"));
  await label(12);
  assert.equal(Number(await text("labeled-today")), shownBefore, "nothing counted as given while the lock is held");
  assert.match((await text("saving")) ?? "", /12/, "the view says 12 labels are not saved yet");
  await new Promise((r) => lock.once("exit", r));
  await until("the 12 labels to be saved", async () => (await text("saving")) === null, 90000, 200);
  expected += 12;
  assert.equal(stored(), expected, "all 12 labels given while the lock was held are stored");
  await until("12 more counted", async () => Number(await text("labeled-today")) === shownBefore + 12, 30000, 200);
  console.log("busy database: 12 labels given with the lock held 14 s, 12 stored after it was released");

  // 2. The lock held and the app killed: what the view counted as given is all stored.
  const lock2 = await holdWriteLock(30);
  const counted = Number(await text("labeled-today"));
  await label(12);
  const shown = Number(await text("labeled-today"));
  await killApp();
  lock2.kill("SIGKILL");
  const afterKill = stored();
  assert.ok(afterKill >= expected + (shown - counted), `shown as given: ${shown - counted}, stored: ${afterKill - expected}`);
  console.log(`kill -9 with the lock held: ${shown - counted} shown as given, ${afterKill - expected} stored`);
  expected = afterKill;

  // 3. No lock, a fast burst, kill -9 in the middle of it.
  await startApp();
  const start = Number(await text("labeled-today"));
  assert.equal(stored(), expected, "the reopened app finds the same labels");
  for (let i = 0; i < 30; i++) await s.press([i % 2 === 0 ? "n" : "1"]);
  const given = Number(await text("labeled-today")) - start;
  await killApp();
  const kept = stored() - expected;
  assert.ok(kept >= given, `shown as given: ${given}, stored: ${kept}`);
  console.log(`kill -9 mid-burst: ${given} shown as given, ${kept} stored`);
});
