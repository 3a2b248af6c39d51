// The seam between the UI and the Rust side: the only module that imports @tauri-apps/*.
// Commands and events are typed by the generated bindings; errors arrive as CommandError.

import { invoke } from "@tauri-apps/api/core";
import { listen as tauriListen } from "@tauri-apps/api/event";
import { getCurrentWindow } from "@tauri-apps/api/window";
import { open as openDialog, save as saveDialog } from "@tauri-apps/plugin-dialog";
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

/**
 * Runs `handler` when the user asks to close the window; the window closes after it resolves
 * unless it returns `false`. Resolves to the function that stops listening.
 */
export async function onCloseRequested(handler: () => Promise<boolean>): Promise<() => void> {
  return getCurrentWindow().onCloseRequested(async (event) => {
    if (!(await handler())) event.preventDefault();
  });
}

/** Closes the window without asking the close handler again. */
export async function destroyWindow(): Promise<void> {
  await getCurrentWindow().destroy();
}

/** A readable message for anything a call may throw. */
export function messageOf(e: unknown): string {
  if (e instanceof CommandError) return e.message;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** A file type offered by a file dialog. */
export interface FileFilter {
  name: string;
  extensions: string[];
}

/** The native dialog's answer: one path, or `null` when the user cancelled. */
function one(picked: string | string[] | null): string | null {
  if (Array.isArray(picked)) return picked[0] ?? null;
  return picked ?? null;
}

/** Asks the user for an existing file (native dialog); `null` when cancelled. */
export async function pickFile(title: string, filters: FileFilter[] = []): Promise<string | null> {
  return one(await openDialog({ title, filters, multiple: false, directory: false }));
}

/** Asks the user for files (native dialog); empty when cancelled. */
export async function pickFiles(title: string, filters: FileFilter[] = []): Promise<string[]> {
  const picked = await openDialog({ title, filters, multiple: true, directory: false });
  return picked === null ? [] : Array.isArray(picked) ? picked : [picked];
}

/** Asks the user for a folder (native dialog); `null` when cancelled. */
export async function pickFolder(title: string): Promise<string | null> {
  return one(await openDialog({ title, multiple: false, directory: true }));
}

/** Asks the user where to write a file (native dialog); `null` when cancelled. */
export async function pickSave(title: string, defaultPath?: string, filters: FileFilter[] = []): Promise<string | null> {
  return (await saveDialog({ title, defaultPath, filters })) ?? null;
}
