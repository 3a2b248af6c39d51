import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks } from "@tauri-apps/api/mocks";
import Annotate from "./Annotate.svelte";
import { Session } from "../lib/session.svelte";
import { mockBackend, project } from "../test/fixtures";

describe("the annotate view", () => {
  beforeEach(() => clearMocks());
  afterEach(() => {
    cleanup();
    clearMocks();
  });

  it("highlights head and tail, numbers the valid relations and shows the counts", async () => {
    mockBackend();
    render(Annotate, { project, session: new Session(project.uid) });
    const sentence = await screen.findByTestId("sentence");
    const head = sentence.querySelector("mark.head")!;
    const tail = sentence.querySelector("mark.tail")!;
    expect(head.textContent).toBe("疼痛H");
    expect(tail.textContent).toBe("腹部T");
    expect((head as HTMLElement).style.getPropertyValue("--c")).toBe("#ef6c00");
    expect(sentence.querySelector(".other")?.textContent).toBe("胃炎");
    const buttons = screen.getByTestId("relations").querySelectorAll("button");
    expect([...buttons].map((b) => b.textContent?.replace(/\s+/g, " ").trim())).toEqual([
      "1 SAP the symptom appears at the position",
      "0/n none no relation between the two entities",
    ]);
    await waitFor(() => expect(screen.getByTestId("left-in-queue").textContent).toBe("3"));
  });

  it("labels with the keyboard alone: 1, n, Backspace", async () => {
    const backend = mockBackend();
    const user = userEvent.setup();
    render(Annotate, { project, session: new Session(project.uid) });
    await screen.findByTestId("sentence");
    await user.keyboard("1");
    await waitFor(() => expect(screen.getByTestId("pair").dataset.pair).toBe("2"));
    await user.keyboard("n");
    await waitFor(() => expect(screen.getByTestId("pair").dataset.pair).toBe("3"));
    await user.keyboard("{Backspace}");
    await waitFor(() => expect(screen.getByTestId("pair").dataset.pair).toBe("2"));
    expect(backend.labels).toEqual([{ pair: 1, relation: "SAP" }]);
    await waitFor(() => expect(screen.getByTestId("labeled-today").textContent).toBe("1"));
  });

  it("shows the suggestion with its calibrated confidence; Enter confirms it", async () => {
    const backend = mockBackend({ suggestion: true });
    const user = userEvent.setup();
    render(Annotate, { project, session: new Session(project.uid) });
    const s = await screen.findByTestId("suggestion");
    // The calibrated figure (≈ P(correct)) is shown, the raw probability is in the tooltip.
    expect(s.textContent).toMatch(/SAP.*≈84% right/);
    expect(screen.getByTestId("calibrated").getAttribute("title")).toMatch(/91%/);
    await user.keyboard("{Enter}");
    await waitFor(() => expect(backend.actions).toEqual(["confirm"]));
    expect(backend.writes()[0].args).toEqual({
      project: "uid-demo",
      pair: 1,
      relation: "SAP",
      shown: { model_version: 1, relation: "SAP", probability: 0.91 },
    });
    expect(screen.getByTestId("status").textContent).toMatch(/^confirmed SAP ← pair 1/);
  });

  it("says 'saving' while labels are being written and counts them only once committed", async () => {
    const backend = mockBackend({ pairs: [1, 2, 3, 4] });
    const user = userEvent.setup();
    render(Annotate, { project, session: new Session(project.uid) });
    await screen.findByTestId("sentence");
    await waitFor(() => expect(screen.getByTestId("labeled-today").textContent).toBe("0"));
    const release = backend.hold();
    await user.keyboard("1");
    await user.keyboard("n");
    // The next pairs show at once; the labels are not counted as given yet.
    await waitFor(() => expect(screen.getByTestId("pair").dataset.pair).toBe("3"));
    expect(screen.getByTestId("saving").textContent?.trim()).toBe("saving 2…");
    expect(screen.getByTestId("labeled-today").textContent).toBe("0");
    expect(screen.getByTestId("left-in-queue").textContent).toBe("4");
    expect(screen.getByTestId("status").textContent).toBe("none ← pair 2");
    release();
    await waitFor(() => expect(screen.queryByTestId("saving")).toBeNull());
    expect(screen.getByTestId("labeled-today").textContent).toBe("2");
    expect(screen.getByTestId("left-in-queue").textContent).toBe("2");
  });

  it("keeps a label the database refused as busy on screen across key presses until a retry saves it", async () => {
    const backend = mockBackend({ pairs: [1, 2, 3, 4] });
    backend.fail("busy", 1, "the database is busy");
    const session = new Session(project.uid);
    session.retryBase = 150;
    const user = userEvent.setup();
    render(Annotate, { project, session });
    await screen.findByTestId("sentence");
    await user.keyboard("1");
    const unsaved = await screen.findByTestId("unsaved");
    expect(unsaved.textContent).toMatch(/SAP ← pair 1 is not saved: the database is busy/);
    await user.keyboard("n");
    await user.keyboard("1");
    await waitFor(() => expect(screen.getByTestId("pair").dataset.pair).toBe("4"));
    // Later key presses neither clear the failure nor overtake it.
    expect(screen.getByTestId("unsaved").textContent).toMatch(/pair 1 is not saved/);
    expect(screen.getByTestId("waiting").textContent).toMatch(/^2 later labels wait/);
    expect(backend.labels).toEqual([]);
    await waitFor(() => expect(screen.queryByTestId("unsaved")).toBeNull());
    await waitFor(() => expect(screen.queryByTestId("saving")).toBeNull());
    expect(backend.labels).toEqual([
      { pair: 1, relation: "SAP" },
      { pair: 2, relation: "none" },
      { pair: 3, relation: "SAP" },
    ]);
  });

  it("a refused label stays until discarded, then the later ones are written; Retry now saves one", async () => {
    const backend = mockBackend({ pairs: [1, 2, 3, 4] });
    backend.fail("invalid", 1, "SAP is not valid for pair 1");
    const user = userEvent.setup();
    render(Annotate, { project, session: new Session(project.uid) });
    await screen.findByTestId("sentence");
    await user.keyboard("1");
    await screen.findByTestId("unsaved");
    await user.keyboard("n");
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.getByTestId("unsaved").textContent).toMatch(/SAP is not valid for pair 1.*not retried automatically/);
    expect(screen.getByTestId("saving").textContent?.trim()).toBe("2 not saved");
    await user.keyboard("{Backspace}");
    await waitFor(() => expect(screen.getByTestId("status").textContent).toBe("save or discard the unsaved labels first"));
    await user.click(screen.getByTestId("discard"));
    await waitFor(() => expect(backend.labels).toEqual([{ pair: 2, relation: "none" }]));
    expect(screen.queryByTestId("unsaved")).toBeNull();

    backend.fail("no_model", 1, "no model yet");
    await user.keyboard("1");
    expect((await screen.findByTestId("unsaved")).textContent).toMatch(/SAP ← pair 3 is not saved: no model yet/);
    await user.click(screen.getByTestId("retry"));
    await waitFor(() => expect(screen.queryByTestId("unsaved")).toBeNull());
    expect(backend.labels).toEqual([
      { pair: 2, relation: "none" },
      { pair: 3, relation: "SAP" },
    ]);
  });
});
