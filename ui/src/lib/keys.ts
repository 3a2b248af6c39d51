// The annotate view's keyboard map. Pure, so it is tested without a DOM.

import type { QueueKind } from "./backend";

export type Action =
  | { kind: "label"; index: number }
  | { kind: "none" }
  | { kind: "confirm" }
  | { kind: "undo" }
  | { kind: "skip" }
  | { kind: "prev" }
  | { kind: "next" }
  | { kind: "queue"; queue: QueueKind };

export const QUEUES: QueueKind[] = ["seed", "confirm", "uncertain"];

export interface KeyLike {
  key: string;
  ctrlKey?: boolean;
  metaKey?: boolean;
  altKey?: boolean;
  target?: EventTarget | null;
}

/** Whether the key goes to a form field rather than to the annotate view. */
export function typing(target: EventTarget | null | undefined): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== "string") return false;
  const el = target as HTMLElement;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

/** The action of a key press, or null when the key means nothing here. */
export function actionFor(e: KeyLike): Action | null {
  if (typing(e.target)) return null;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && (e.key === "z" || e.key === "Z")) return { kind: "undo" };
  if (e.altKey && ["1", "2", "3"].includes(e.key)) {
    return { kind: "queue", queue: QUEUES[Number(e.key) - 1] };
  }
  if (mod || e.altKey) return null;
  if (/^[1-9]$/.test(e.key)) return { kind: "label", index: Number(e.key) - 1 };
  switch (e.key) {
    case "0":
    case "n":
      return { kind: "none" };
    case "Enter":
      return { kind: "confirm" };
    case "Backspace":
      return { kind: "undo" };
    case "s":
      return { kind: "skip" };
    case "ArrowLeft":
      return { kind: "prev" };
    case "ArrowRight":
      return { kind: "next" };
    default:
      return null;
  }
}
