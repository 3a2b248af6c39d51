import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import Start from "./Start.svelte";
import { project } from "../test/fixtures";

describe("the start view", () => {
  beforeEach(() => clearMocks());
  afterEach(() => {
    cleanup();
    clearMocks();
  });

  it("sets the annotator name labels are written under", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC(async (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      if (cmd === "set_annotator") return String((args as { name: string }).name).trim();
      throw new Error(`unexpected command ${cmd}`);
    });
    const names: string[] = [];
    render(Start, { recent: [], dataDir: "/data", project, annotator: "ann", onopened: () => {}, onannotator: (n: string) => names.push(n) });
    const input = screen.getByLabelText("annotator name") as HTMLInputElement;
    expect(input.value).toBe("ann");
    expect((screen.getByTestId("save-annotator") as HTMLButtonElement).disabled).toBe(true);
    await userEvent.clear(input);
    await userEvent.type(input, " 张医生 ");
    await userEvent.click(screen.getByTestId("save-annotator"));
    await waitFor(() => expect(names).toEqual(["张医生"]));
    expect(calls).toEqual([{ cmd: "set_annotator", args: { name: " 张医生 " } }]);
    expect(input.value).toBe("张医生");
  });

  it("shows why a name was refused", async () => {
    mockIPC(async () => {
      throw { code: "invalid", message: "the annotator name must not be empty" };
    });
    render(Start, { recent: [], dataDir: "/data", project, annotator: "ann", onopened: () => {} });
    const input = screen.getByLabelText("annotator name");
    await userEvent.clear(input);
    await userEvent.type(input, "x");
    await userEvent.click(screen.getByTestId("save-annotator"));
    expect((await screen.findByRole("alert")).textContent).toContain("must not be empty");
  });
});
