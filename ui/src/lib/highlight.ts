// Cuts a sentence into segments for display: the head and tail entities, the other entities of
// the sentence, and plain text. Offsets are chars (code points), half-open, as the backend
// sends them.

import type { EntityView } from "./backend";

export type Role = "head" | "tail" | "other" | null;

export interface Segment {
  text: string;
  role: Role;
  /** Entity type of the marked entity (null for plain text). */
  type: string | null;
}

export function segments(
  text: string,
  head: EntityView,
  tail: EntityView,
  others: EntityView[] = [],
): Segment[] {
  const chars = Array.from(text);
  const role: Role[] = new Array(chars.length).fill(null);
  const type: (string | null)[] = new Array(chars.length).fill(null);
  const mark = (e: EntityView, r: Role) => {
    for (const [start, end] of e.spans) {
      for (let i = Math.max(0, start); i < Math.min(end, chars.length); i++) {
        // Head and tail win over other entities that overlap them.
        if (r === "other" && role[i] !== null) continue;
        role[i] = r;
        type[i] = e.entity_type;
      }
    }
  };
  mark(head, "head");
  mark(tail, "tail");
  for (const e of others) mark(e, "other");
  const out: Segment[] = [];
  for (let i = 0; i < chars.length; i++) {
    const last = out[out.length - 1];
    if (last && last.role === role[i] && last.type === type[i]) {
      last.text += chars[i];
    } else {
      out.push({ text: chars[i], role: role[i], type: type[i] });
    }
  }
  return out;
}

const PALETTE = ["#2e7d32", "#c62828", "#ef6c00", "#1565c0", "#6a1b9a", "#00838f", "#ad1457", "#4e342e"];

/** The schema's colour of an entity type, or a stable one from a palette. */
export function colorOf(type: string, schema: { name: string; color: string | null }[]): string {
  const i = schema.findIndex((t) => t.name === type);
  if (i >= 0 && schema[i].color) return schema[i].color!;
  return PALETTE[(i >= 0 ? i : type.length) % PALETTE.length];
}
