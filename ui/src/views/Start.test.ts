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

  it("fills the fields from the native dialogs, the typed paths staying as the fallback", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    const answers: Record<string, unknown[]> = {
      "plugin:dialog|open": ["/corpora/brat", ["/corpora/a.txt", "/corpora/a.ann"], "/projects/old.db"],
    };
    mockIPC(async (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      if (cmd in answers) return answers[cmd].shift() ?? null;
      if (cmd === "open_project") return { ...project, path: (args as { path: string }).path };
      throw new Error(`unexpected command ${cmd}`);
    });
    const opened: string[] = [];
    render(Start, { recent: [], dataDir: "/data", project, annotator: "ann", onopened: (p: { path: string }) => opened.push(p.path) });
    const paths = screen.getByLabelText("import paths") as HTMLTextAreaElement;
    await userEvent.type(paths, "/typed/by/hand");
    await userEvent.click(screen.getByTestId("pick-import-folder"));
    await waitFor(() => expect(paths.value).toBe("/typed/by/hand\n/corpora/brat"));
    await userEvent.click(screen.getByTestId("pick-import-files"));
    await waitFor(() => expect(paths.value).toBe("/typed/by/hand\n/corpora/brat\n/corpora/a.txt\n/corpora/a.ann"));
    const dialogs = calls.filter((c) => c.cmd === "plugin:dialog|open").map((c) => c.args.options as Record<string, unknown>);
    expect(dialogs[0]).toMatchObject({ directory: true, multiple: false });
    expect(dialogs[1]).toMatchObject({ directory: false, multiple: true });

    await userEvent.click(screen.getByTestId("pick-project"));
    await waitFor(() => expect(opened).toEqual(["/projects/old.db"]));
    expect((screen.getByLabelText("project file") as HTMLInputElement).value).toBe("/projects/old.db");
    expect(calls.find((c) => c.cmd === "open_project")?.args).toEqual({ path: "/projects/old.db" });
  });

  it("imports an exhaustively annotated brat corpus with its unrelated pairs as none", async () => {
    const calls: { cmd: string; args: Record<string, unknown> }[] = [];
    mockIPC(async (cmd, args) => {
      calls.push({ cmd, args: (args ?? {}) as Record<string, unknown> });
      if (cmd === "import_corpus")
        return { documents_added: 1, documents_unchanged: 0, sentences: 1, entities: 4, pairs: 4, labels: 4, cross_sentence_relations: 0, skipped: [] };
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Start, { recent: [], dataDir: "/data", project, annotator: "ann", onopened: () => {} });
    await userEvent.selectOptions(screen.getByLabelText("import format"), "brat");
    await userEvent.type(screen.getByLabelText("import paths"), "/corpora/ruijin");
    await userEvent.click(screen.getByTestId("unlabeled-pairs-none"));
    await userEvent.click(screen.getByRole("button", { name: "Import" }));
    await waitFor(() => expect(calls.map((c) => c.cmd)).toContain("import_corpus"));
    expect(calls.find((c) => c.cmd === "import_corpus")?.args).toEqual({
      request: { format: "brat", paths: ["/corpora/ruijin"], relations_as_gold: false, lenient: false, unlabeled_pairs_none: true },
    });
    // CCKS 2017 folders mark no relations: the box is not offered.
    await userEvent.selectOptions(screen.getByLabelText("import format"), "ccks2017");
    expect(screen.queryByTestId("unlabeled-pairs-none")).toBeNull();
  });

  it("leaves a field as it was when the dialog is cancelled", async () => {
    mockIPC(async (cmd) => {
      if (cmd === "plugin:dialog|open") return null;
      throw new Error(`unexpected command ${cmd}`);
    });
    render(Start, { recent: [], dataDir: "/data", project, annotator: "ann", onopened: () => {} });
    const schema = screen.getByLabelText("schema file") as HTMLInputElement;
    await userEvent.type(schema, "/typed/schema.toml");
    await userEvent.click(screen.getByTestId("pick-schema"));
    await new Promise((r) => setTimeout(r, 20));
    expect(schema.value).toBe("/typed/schema.toml");
    expect(screen.queryByRole("alert")).toBeNull();
  });

  it("creates a project only once the open one's labels are saved", async () => {
    const calls: string[] = [];
    mockIPC(async (cmd) => {
      calls.push(cmd);
      if (cmd === "create_project") return project;
      throw new Error(`unexpected command ${cmd}`);
    });
    let answer: (refusal: string | null) => void = () => {};
    const opened: string[] = [];
    render(Start, {
      recent: [],
      dataDir: "/data",
      project,
      onopened: (p: { path: string }) => opened.push(p.path),
      beforeswitch: () => new Promise<string | null>((r) => (answer = r)),
    });
    await userEvent.click(screen.getByRole("button", { name: "Create" }));
    expect(await screen.findByText(/saving the labels of the open project/)).toBeTruthy();
    answer("2 labels are not saved in the open project: retry or discard them first");
    expect((await screen.findByRole("alert")).textContent).toContain("2 labels are not saved");
    expect(calls).toEqual([]);

    await userEvent.click(screen.getByRole("button", { name: "Create" }));
    answer(null);
    await waitFor(() => expect(opened).toEqual(["/tmp/demo.db"]));
    expect(calls).toEqual(["create_project"]);
  });
});
