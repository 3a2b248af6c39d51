import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { render, screen, cleanup, waitFor, within } from "@testing-library/svelte";
import userEvent from "@testing-library/user-event";
import { clearMocks } from "@tauri-apps/api/mocks";
import Review from "./Review.svelte";
import { mockReviewBackend, project } from "../test/fixtures";

const text = (e: Element | null) => e?.textContent?.replace(/\s+/g, " ").trim() ?? "";

async function iterationButton(k: number): Promise<HTMLElement> {
  const timeline = await screen.findByTestId("timeline");
  return timeline.querySelector(`[data-iteration="${k}"]`) as HTMLElement;
}

describe("the review view", () => {
  beforeEach(() => clearMocks());
  afterEach(() => {
    cleanup();
    clearMocks();
  });

  it("shows every iteration's status, acceptance and alarm count on the timeline", async () => {
    mockReviewBackend();
    render(Review, { project });
    const timeline = await screen.findByTestId("timeline");
    const items = [...timeline.querySelectorAll("[data-testid=iteration]")];
    expect(items.map((b) => text(b.querySelector("[data-testid=status]")))).toEqual([
      "active",
      "rejected",
      "quarantined",
      "rolled back",
    ]);
    expect(text(items[0])).toContain("✓ accepted");
    expect(text(items[1])).not.toContain("accepted");
    expect(text(items[2].querySelector("[data-testid=alarm-count]"))).toBe("⚠ 2 alarms");
    expect(items[0].querySelector("[data-testid=alarm-count]")).toBeNull();
    // The most recent iteration is selected first.
    expect(items[3].getAttribute("aria-pressed")).toBe("true");
  });

  it("lists a selected iteration's alarms in words with its metrics", async () => {
    mockReviewBackend();
    const user = userEvent.setup();
    render(Review, { project });
    await user.click(await iterationButton(3));
    const alarms = await screen.findAllByTestId("alarm");
    expect(alarms.map(text)).toEqual([
      "Iteration 3: the admitted label mix diverges from the human labels: JSD 0.142 is above 0.100 (informs; does not quarantine)",
      "Iteration 3 · SAP: its share of the admitted labels is 2.40× its share of the human labels, more than 2.00× (informs; does not quarantine)",
    ]);
    expect(text(screen.getByTestId("jsd"))).toBe("0.142");
    // F1 76.0% against 74.0% before: two points up.
    expect(text(screen.getByTestId("f1"))).toBe("76.0% (+2.0 points vs 74.0%)");
    const rows = screen.getByTestId("relations-table").querySelectorAll("tbody tr");
    expect([...rows].map((r) => r.getAttribute("data-relation"))).toEqual(["DAP", "SAP", "none"]);
  });

  it("accepts a quarantined iteration with the Accept button", async () => {
    const backend = mockReviewBackend();
    const user = userEvent.setup();
    render(Review, { project });
    await user.click(await iterationButton(3));
    await user.click(screen.getByTestId("accept"));
    await waitFor(() =>
      expect(backend.calls.find((c) => c.cmd === "review_action")?.args).toEqual({ iteration: 3, action: "accept" }),
    );
    await waitFor(async () => {
      const button = await iterationButton(3);
      expect(text(button.querySelector("[data-testid=status]"))).toBe("active");
      expect(text(button)).toContain("✓ accepted");
    });
    // A rolled-back iteration can be neither accepted nor quarantined.
    await user.click(await iterationButton(4));
    expect((screen.getByTestId("accept") as HTMLButtonElement).disabled).toBe(true);
    expect((screen.getByTestId("quarantine") as HTMLButtonElement).disabled).toBe(true);
  });

  it("rolls back only after the confirm step, naming the later iterations it reverts", async () => {
    const backend = mockReviewBackend();
    const user = userEvent.setup();
    render(Review, { project });
    await user.click(await iterationButton(2));
    await user.click(screen.getByTestId("rollback"));
    const confirm = screen.getByTestId("rollback-confirm");
    // Iteration 4 is rolled back already; 2 and 3 are reverted, with their 88 + 87 labels.
    expect(text(confirm)).toContain("Roll back iterations 2, 3?");
    expect(text(confirm)).toContain("175 automatic labels");
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("rollback-confirm")).toBeNull();
    expect(backend.calls.some((c) => c.cmd === "rollback_iteration")).toBe(false);
    await user.click(screen.getByTestId("rollback"));
    await user.click(screen.getByTestId("rollback-confirm-button"));
    await waitFor(() =>
      expect(backend.calls.find((c) => c.cmd === "rollback_iteration")?.args).toEqual({ iteration: 2 }),
    );
  });

  it("freezes a relation and sets its own λ", async () => {
    const backend = mockReviewBackend();
    const user = userEvent.setup();
    render(Review, { project });
    await screen.findByTestId("relations-table");
    await user.click(screen.getByLabelText("freeze SAP"));
    await waitFor(() =>
      expect(backend.calls.filter((c) => c.cmd === "relation_setting").map((c) => c.args)).toEqual([
        { relation: "SAP", threshold: null, frozen: true },
      ]),
    );
    const lambda = screen.getByLabelText("λ for DAP");
    await user.clear(lambda);
    await user.type(lambda, "0.97");
    await user.click(within(lambda.closest("tr")!).getByTestId("set-lambda"));
    await waitFor(() =>
      expect(backend.calls.filter((c) => c.cmd === "relation_setting").map((c) => c.args)[1]).toEqual({
        relation: "DAP",
        threshold: 0.97,
        frozen: false,
      }),
    );
    expect((screen.getByLabelText("freeze SAP") as HTMLInputElement).checked).toBe(true);
  });

  it("judges the audit sample with the keyboard: Enter = right, a digit = the right relation, Esc leaves", async () => {
    const backend = mockReviewBackend();
    const user = userEvent.setup();
    render(Review, { project });
    await user.click(await iterationButton(3));
    expect(text(await screen.findByTestId("audit-decision"))).toBe("Judge some items: nothing is judged yet (target 90.0%).");
    await user.click(screen.getByTestId("start-audit"));

    const first = await screen.findByTestId("audit-item");
    expect(first.dataset.pair).toBe("1");
    expect(text(screen.getByTestId("audit-label"))).toBe("Automatic label: SAP — is it right?");
    expect(first.querySelector("mark.head")?.textContent).toBe("疼痛H");
    // The model's score is shown nowhere while judging.
    expect(text(screen.getByTestId("audit-screen"))).not.toMatch(/91|%|suggests/);

    await user.keyboard("{Enter}");
    await waitFor(() => expect(screen.getByTestId("audit-item").dataset.pair).toBe("2"));
    expect(text(screen.getByTestId("audit-label"))).toBe("Automatic label: none — is it right?");
    // Pair 2's relations are DAP and none: 1 says the right relation is DAP.
    await user.keyboard("1");
    await screen.findByTestId("audit-finished");
    expect(backend.calls.filter((c) => c.cmd === "audit_judge").map((c) => c.args)).toEqual([
      { iteration: 3, pair: 1, relation: null },
      { iteration: 3, pair: 2, relation: "DAP" },
    ]);
    expect(text(screen.getByTestId("audit-finished"))).toContain("Roll back: the precision is at most 95.0%");

    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("audit-screen")).toBeNull());
    expect(text(await screen.findByTestId("audit-judged"))).toBe("2");
  });

  it("judges none with n; a digit past the item's relations does nothing", async () => {
    const backend = mockReviewBackend();
    const user = userEvent.setup();
    render(Review, { project });
    await user.click(await iterationButton(3));
    await user.click(await screen.findByTestId("start-audit"));
    await screen.findByTestId("audit-item");
    await user.keyboard("n");
    await waitFor(() => expect(screen.getByTestId("audit-item").dataset.pair).toBe("2"));
    expect(backend.judgements).toEqual([{ pair: 1, relation: "none" }]);
    // A digit past the item's relations means nothing.
    await user.keyboard("7");
    expect(backend.judgements).toHaveLength(1);
  });

  it("shows the backend's message when an action fails", async () => {
    mockReviewBackend({ fail: "review_action" });
    const user = userEvent.setup();
    render(Review, { project });
    await user.click(await iterationButton(2));
    await user.click(screen.getByTestId("quarantine"));
    expect(text(await screen.findByTestId("review-error"))).toBe("review_action refused: iteration 2 is rolled back");
  });
});
