import { describe, expect, it } from "vitest";
import { colorOf, segments } from "./highlight";

describe("sentence segments", () => {
  const e = (type: string, ...spans: [number, number][]) => ({ mention: "", entity_type: type, spans });

  it("marks head, tail and other entities by char offsets", () => {
    const got = segments("患者腹部疼痛，诊断为胃炎。", e("symptom", [4, 6]), e("position", [2, 4]), [
      e("disease", [10, 12]),
      e("position", [2, 4]),
    ]);
    expect(got).toEqual([
      { text: "患者", role: null, type: null },
      { text: "腹部", role: "tail", type: "position" },
      { text: "疼痛", role: "head", type: "symptom" },
      { text: "，诊断为", role: null, type: null },
      { text: "胃炎", role: "other", type: "disease" },
      { text: "。", role: null, type: null },
    ]);
  });

  it("counts offsets in code points, not UTF-16 units", () => {
    const got = segments("𠮷痛在腹", e("symptom", [1, 2]), e("position", [3, 4]));
    expect(got.map((s) => s.text)).toEqual(["𠮷", "痛", "在", "腹"]);
    expect(got[1].role).toBe("head");
  });

  it("keeps the schema's colours and gives other types a stable one", () => {
    const schema = [{ name: "disease", color: "#c62828" }, { name: "test", color: null }];
    expect(colorOf("disease", schema)).toBe("#c62828");
    expect(colorOf("test", schema)).toBe(colorOf("test", schema));
  });
});
