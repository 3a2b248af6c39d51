import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks, mockIPC } from "@tauri-apps/api/mocks";
import Training from "./Training.svelte";
import { job } from "../lib/job.svelte";
import type { SettingsView, TrainingOverview } from "../lib/backend";

function mockTraining() {
  const saved: SettingsView[] = [];
  let settings: SettingsView = {
    threshold: 0.7,
    batch_size: 1000,
    per_relation_cap: null,
    gold_fraction: 0.2,
    tolerance_points: 1,
    auto_bootstrap: true,
  };
  mockIPC(async (cmd, args) => {
    const a = (args ?? {}) as Record<string, unknown>;
    switch (cmd) {
      case "training_overview": {
        const o: TrainingOverview = { models: [], iterations: [], settings, reliable: 1200, jobs: [], running: false };
        return o;
      }
      case "save_settings":
        settings = a.settings as SettingsView;
        saved.push(settings);
        return settings;
    }
    throw new Error(`unexpected command ${cmd}`);
  });
  return saved;
}

describe("the training view", () => {
  beforeEach(() => clearMocks());
  afterEach(() => {
    cleanup();
    clearMocks();
  });

  it("saves the automatic bootstrapping setting with λ and N", async () => {
    const saved = mockTraining();
    render(Training);
    const auto = (await screen.findByLabelText("auto bootstrap")) as HTMLInputElement;
    await waitFor(() => expect(auto.checked).toBe(true));
    await userEvent.click(auto);
    await userEvent.click(screen.getByTestId("save-settings"));
    await waitFor(() => expect(saved).toHaveLength(1));
    expect(saved[0]).toMatchObject({ auto_bootstrap: false, threshold: 0.7, batch_size: 1000 });
  });

  it("tells the user when the app started bootstrapping on its own", async () => {
    mockTraining();
    render(Training);
    await screen.findByLabelText("auto bootstrap");
    job.apply({ type: "auto_bootstrap", reliable: 1200, batch_size: 1000 });
    job.apply({ type: "started", job: 4, kind: "bootstrap" });
    const notice = await screen.findByTestId("auto-notice");
    expect(notice.textContent).toContain("started automatically");
    expect(notice.textContent).toContain("1200 of N = 1000");
  });
});
