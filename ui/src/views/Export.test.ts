import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import Export from "./Export.svelte";
import { project } from "../test/fixtures";

describe("the export view", () => {
  beforeEach(() => clearMocks());
  afterEach(() => {
    cleanup();
    clearMocks();
  });

  it("chooses the destination with a save dialog (a folder for brat) and exports there", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC(async (cmd, args) => {
      const a = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: a });
      switch (cmd) {
        case "plugin:dialog|save":
          return "/exports/corpus.jsonl";
        case "plugin:dialog|open":
          return "/exports/brat";
        case "export_corpus": {
          const r = a.request as { out: string };
          return { out: r.out, documents: 2, sentences: 5, labels: 3, by_source: { human: 3 } };
        }
      }
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Export, { project, dataDir: "/data" });
    const destination = screen.getByLabelText("destination") as HTMLInputElement;
    await userEvent.click(screen.getByTestId("pick-destination"));
    await waitFor(() => expect(destination.value).toBe("/exports/corpus.jsonl"));
    const save = calls.find((c) => c.cmd === "plugin:dialog|save")!.args.options as Record<string, unknown>;
    expect(save.defaultPath).toBe("/data/demo-export.jsonl");
    await userEvent.click(screen.getByTestId("export"));
    expect((await screen.findByTestId("export-summary")).textContent).toContain("/exports/corpus.jsonl");
    expect((calls.find((c) => c.cmd === "export_corpus")!.args.request as { out: string }).out).toBe("/exports/corpus.jsonl");

    await userEvent.selectOptions(screen.getByLabelText("export format"), "brat");
    await userEvent.click(screen.getByTestId("pick-destination"));
    await waitFor(() => expect(destination.value).toBe("/exports/brat"));
    const open = calls.find((c) => c.cmd === "plugin:dialog|open")!.args.options as Record<string, unknown>;
    expect(open.directory).toBe(true);
  });
});
