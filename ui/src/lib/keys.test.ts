import { describe, expect, it } from "vitest";
import { actionFor, type KeyLike } from "./keys";

describe("the annotate view's keyboard map", () => {
  const cases: [KeyLike, ReturnType<typeof actionFor>][] = [
    [{ key: "1" }, { kind: "label", index: 0 }],
    [{ key: "9" }, { kind: "label", index: 8 }],
    [{ key: "0" }, { kind: "none" }],
    [{ key: "n" }, { kind: "none" }],
    [{ key: "Enter" }, { kind: "confirm" }],
    [{ key: "Backspace" }, { kind: "undo" }],
    [{ key: "z", ctrlKey: true }, { kind: "undo" }],
    [{ key: "s" }, { kind: "skip" }],
    [{ key: "ArrowLeft" }, { kind: "prev" }],
    [{ key: "ArrowRight" }, { kind: "next" }],
    [{ key: "2", altKey: true }, { kind: "queue", queue: "confirm" }],
    [{ key: "3", altKey: true }, { kind: "queue", queue: "uncertain" }],
    [{ key: "1", ctrlKey: true }, null],
    [{ key: "x" }, null],
  ];
  it.each(cases)("%j → %j", (key, want) => {
    expect(actionFor(key)).toEqual(want);
  });

  it("leaves keys typed into form fields alone", () => {
    const input = document.createElement("input");
    expect(actionFor({ key: "1", target: input })).toBeNull();
    expect(actionFor({ key: "Backspace", target: input })).toBeNull();
  });
});
