// A minimal W3C WebDriver client over fetch (Node 20): just what the desktop end-to-end test
// needs to drive the real EMRel window through tauri-driver.

export const KEY = {
  Enter: "\uE007",
  Backspace: "\uE003",
  Control: "\uE009",
  Alt: "\uE00A",
  ArrowLeft: "\uE012",
  ArrowRight: "\uE014",
};

export class Session {
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }

  static async create(base, capabilities) {
    const r = await request(base, "POST", "/session", { capabilities: { alwaysMatch: capabilities } });
    return new Session(base, r.sessionId);
  }

  cmd(method, path, body) {
    return request(this.base, method, `/session/${this.id}${path}`, body);
  }

  /** Runs `body` (a function body) in the window and returns its value. */
  exec(body, ...args) {
    return this.cmd("POST", "/execute/sync", { script: body, args });
  }

  /** Runs async `body`; it gets `done` as its last argument... resolved with `await` inside. */
  execAsync(body, ...args) {
    const script = `const done = arguments[arguments.length - 1];
      (async () => { ${body} })().then(done, (e) => done({ __error: String(e) }));`;
    return this.cmd("POST", "/execute/async", { script, args }).then((v) => {
      if (v && v.__error) throw new Error(v.__error);
      return v;
    });
  }

  /** Presses keys (each a character or a KEY value), optionally with a held modifier. */
  async press(keys, modifier = null) {
    const actions = [];
    if (modifier) actions.push({ type: "keyDown", value: modifier });
    for (const k of keys) actions.push({ type: "keyDown", value: k }, { type: "keyUp", value: k });
    if (modifier) actions.push({ type: "keyUp", value: modifier });
    await this.cmd("POST", "/actions", { actions: [{ type: "key", id: "keyboard", actions }] });
    await this.cmd("DELETE", "/actions");
  }

  async screenshot() {
    return Buffer.from(await this.cmd("GET", "/screenshot"), "base64");
  }

  delete() {
    return this.cmd("DELETE", "");
  }
}

async function request(base, method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value ?? {};
    throw new Error(`${method} ${path}: ${v.error ?? res.status} ${v.message ?? ""}`);
  }
  return json.value;
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function until(what, probe, timeoutMs = 30000, everyMs = 25) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    // The window may be (re)loading: a failed probe counts as "not yet".
    last = await probe().catch((e) => ({ error: String(e) }));
    if (last && !last.error) return last;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}
