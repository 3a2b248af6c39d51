// The seam between the UI and the Rust side: the only module that imports @tauri-apps/*.
// Commands and events are typed by the generated bindings; errors arrive as CommandError.

import { invoke } from "@tauri-apps/api/core";
import { listen as tauriListen } from "@tauri-apps/api/event";
import type { Commands, ErrorCode, Events } from "./bindings";

export type * from "./bindings";

/** An error the backend reported (`{code, message}`), or `ipc` when the call itself failed. */
export class CommandError extends Error {
  readonly code: ErrorCode | "ipc";
  constructor(code: ErrorCode | "ipc", message: string) {
    super(message);
    this.code = code;
  }
}

function toCommandError(e: unknown): CommandError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const { code, message } = e as { code: ErrorCode; message: string };
    return new CommandError(code, String(message));
  }
  return new CommandError("ipc", typeof e === "string" ? e : String(e));
}

/** Calls a backend command with its typed arguments. */
export async function call<K extends keyof Commands>(
  command: K,
  args: Commands[K]["args"],
): Promise<Commands[K]["result"]> {
  try {
    return await invoke<Commands[K]["result"]>(command, args as Record<string, unknown>);
  } catch (e) {
    throw toCommandError(e);
  }
}

/** Listens to a backend event; resolves to the function that stops listening. */
export async function listen<K extends keyof Events>(
  event: K,
  handler: (payload: Events[K]) => void,
): Promise<() => void> {
  return tauriListen<Events[K]>(event, (e) => handler(e.payload));
}

/** A readable message for anything a call may throw. */
export function messageOf(e: unknown): string {
  if (e instanceof CommandError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}
