import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks } from "@tauri-apps/api/mocks";
import Annotate from "./Annotate.svelte";
import { mockBackend, project } from "../test/fixtures";

describe("the annotate view", () => {
  beforeEach(() => clearMocks());
  afterEach(() => {
    cleanup();
    clearMocks();
  });

  it("highlights head and tail, numbers the valid relations and shows the counts", async () => {
    mockBackend();
    render(Annotate, { project });
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
    render(Annotate, { project });
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
    render(Annotate, { project });
    const s = await screen.findByTestId("suggestion");
    // The calibrated figure (≈ P(correct)) is shown, the raw probability is in the tooltip.
    expect(s.textContent).toMatch(/SAP.*≈84% right/);
    expect(screen.getByTestId("calibrated").getAttribute("title")).toMatch(/91%/);
    await user.keyboard("{Enter}");
    await waitFor(() => expect(backend.calls.some((c) => c.cmd === "confirm_pair")).toBe(true));
  });
});
