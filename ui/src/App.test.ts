import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks, mockWindows } from "@tauri-apps/api/mocks";
import { emit } from "@tauri-apps/api/event";
import App from "./App.svelte";
import { mockBackend } from "./test/fixtures";

// The app as a whole: the annotate session outlives the annotate view, so closing the window
// and opening another project wait for its writes.
describe("the app's unsaved labels", () => {
  beforeEach(() => {
    clearMocks();
    mockWindows("main");
  });
  afterEach(async () => {
    cleanup();
    // The app stops listening asynchronously, through the mocks.
    await new Promise((r) => setTimeout(r, 0));
    clearMocks();
  });

  async function start(pairs = [1, 2, 3, 4]) {
    const backend = mockBackend({ pairs, events: true });
    const user = userEvent.setup();
    render(App);
    await screen.findByTestId("sentence");
    return { backend, user, destroyed: () => backend.calls.filter((c) => c.cmd === "plugin:window|destroy").length };
  }

  it("closing the window waits for the labels being written", async () => {
    const { backend, user, destroyed } = await start();
    const release = backend.hold();
    await user.keyboard("1");
    await emit("tauri://close-requested");
    await waitFor(() => expect(screen.getByTestId("closing").textContent).toMatch(/Saving 1 label before closing/));
    await new Promise((r) => setTimeout(r, 30));
    expect(destroyed()).toBe(0);
    release();
    await waitFor(() => expect(destroyed()).toBe(1));
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
    expect(backend.calls.findIndex((c) => c.cmd === "plugin:window|destroy")).toBeGreaterThan(
      backend.calls.findIndex((c) => c.cmd === "annotate_pair"),
    );
  });

  it("a label that cannot be saved keeps the window open until the annotator chooses", async () => {
    const { backend, user, destroyed } = await start();
    backend.fail("invalid", 2, "refused");
    await user.keyboard("1");
    await screen.findByTestId("unsaved");
    await emit("tauri://close-requested");
    const blocked = await screen.findByTestId("close-blocked");
    expect(blocked.textContent).toMatch(/1 label is not saved/);
    expect(destroyed()).toBe(0);
    // Retry: refused again, so the window stays.
    await user.click(screen.getByTestId("close-retry"));
    await waitFor(() => expect(backend.writes()).toHaveLength(2));
    expect(await screen.findByTestId("close-blocked")).toBeTruthy();
    expect(destroyed()).toBe(0);
    await user.click(screen.getByTestId("close-anyway"));
    await waitFor(() => expect(destroyed()).toBe(1));
  });

  it("Retry in the close dialog saves the label and closes", async () => {
    const { backend, user, destroyed } = await start();
    backend.fail("invalid", 1, "refused");
    await user.keyboard("1");
    await screen.findByTestId("unsaved");
    await emit("tauri://close-requested");
    await screen.findByTestId("close-blocked");
    await user.click(screen.getByTestId("close-retry"));
    await waitFor(() => expect(destroyed()).toBe(1));
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
  });

  it("opening another project waits for the writes, then labels go to the new project", async () => {
    const { backend, user } = await start();
    const release = backend.hold();
    await user.keyboard("1");
    await user.click(document.querySelector('[data-view="start"]')!);
    await user.click(await screen.findByTitle("/tmp/other.db"));
    await new Promise((r) => setTimeout(r, 30));
    expect(backend.calls.some((c) => c.cmd === "open_project")).toBe(false);
    release();
    await waitFor(() => expect(backend.calls.some((c) => c.cmd === "open_project")).toBe(true));
    const cmds = backend.calls.map((c) => c.cmd);
    expect(cmds.lastIndexOf("annotate_pair")).toBeLessThan(cmds.indexOf("open_project"));
    // The new project's queue is read afresh and its labels carry its uid.
    await waitFor(() => expect(screen.getByTestId("pair").dataset.pair).toBe("1"));
    await user.keyboard("n");
    await waitFor(() => expect(backend.labels).toEqual([{ pair: 1, relation: "none" }]));
    expect(backend.writes().at(-1)?.args).toMatchObject({ project: "uid-/tmp/other.db" });
    expect(screen.queryByTestId("unsaved")).toBeNull();
  });

  it("another project does not open while a label of this one is unsaved", async () => {
    const { backend, user } = await start();
    backend.fail("invalid", 1, "refused");
    await user.keyboard("1");
    await screen.findByTestId("unsaved");
    await user.click(document.querySelector('[data-view="start"]')!);
    // Still in sight on the projects view, with its buttons.
    expect(screen.getByTestId("unsaved").textContent).toMatch(/SAP ← pair 1 is not saved: refused/);
    await user.click(await screen.findByTitle("/tmp/other.db"));
    await waitFor(() =>
      expect(screen.getByText(/1 label is not saved in the open project: retry or discard them first/)).toBeTruthy(),
    );
    expect(backend.calls.some((c) => c.cmd === "open_project")).toBe(false);
    await user.click(screen.getByTestId("discard"));
    await user.click(screen.getByTitle("/tmp/other.db"));
    await waitFor(() => expect(backend.calls.some((c) => c.cmd === "open_project")).toBe(true));
  });
});
