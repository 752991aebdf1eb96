/**
 * Every key binding, in one place: {@link keyIntent} maps a key press to what it means, and
 * {@link BINDINGS} is the same table as text for the help screen and the footer.
 *
 * @module
 */

import type { SourceCommand } from "./client/source.ts";
import type { Action, ViewId } from "./state/types.ts";
import { VIEWS } from "./state/types.ts";

/** The subset of Ink's `Key` the bindings read (so tests and callers need not build a full one). */
export interface KeyPress {
  readonly upArrow?: boolean;
  readonly downArrow?: boolean;
  readonly leftArrow?: boolean;
  readonly rightArrow?: boolean;
  readonly pageUp?: boolean;
  readonly pageDown?: boolean;
  readonly home?: boolean;
  readonly end?: boolean;
  readonly return?: boolean;
  readonly escape?: boolean;
  readonly ctrl?: boolean;
  readonly shift?: boolean;
  readonly tab?: boolean;
  readonly backspace?: boolean;
  readonly delete?: boolean;
  readonly meta?: boolean;
}

/** What a key press asks for: a state change, a command to the source (replay), or quitting. */
export type KeyIntent =
  | { readonly kind: "action"; readonly action: Action }
  | { readonly kind: "source"; readonly command: SourceCommand }
  | { readonly kind: "quit" };

/** What the bindings depend on. */
export interface KeyContext {
  /** `/` is being typed: printable keys go to the filter. */
  readonly editingFilter: boolean;
  /** Replaying a recording: space and ←/→ drive playback. */
  readonly replay: boolean;
}

const act = (action: Action): KeyIntent => ({ kind: "action", action });

/**
 * Maps one key press to its intent, or undefined when the key means nothing here.
 *
 * @example
 * ```ts
 * keyIntent("j", {}, { editingFilter: false, replay: false }); // move down
 * keyIntent("", { rightArrow: true }, { editingFilter: false, replay: true }); // step forward
 * ```
 */
export function keyIntent(input: string, key: KeyPress, ctx: KeyContext): KeyIntent | undefined {
  if (ctx.editingFilter) {
    if (key.return) return act({ type: "filter-commit" });
    if (key.escape) return act({ type: "filter-cancel" });
    if (key.backspace || key.delete) return act({ type: "filter-backspace" });
    if (key.upArrow) return act({ type: "move", delta: -1 });
    if (key.downArrow) return act({ type: "move", delta: 1 });
    if (key.ctrl || key.meta || key.tab || key.leftArrow || key.rightArrow) return undefined;
    const text = Array.from(input).filter((ch) => ch >= " " && ch !== "\u007f").join("");
    return text ? act({ type: "filter-input", text }) : undefined;
  }
  if (key.upArrow) return act({ type: "move", delta: -1 });
  if (key.downArrow) return act({ type: "move", delta: 1 });
  if (key.pageUp || (key.ctrl && input === "u")) return act({ type: "page", delta: -1 });
  if (key.pageDown || (key.ctrl && input === "d")) return act({ type: "page", delta: 1 });
  if (key.home) return act({ type: "home" });
  if (key.end) return act({ type: "end" });
  if (key.leftArrow) return ctx.replay ? { kind: "source", command: "step-back" } : act({ type: "sort", delta: -1 });
  if (key.rightArrow) return ctx.replay ? { kind: "source", command: "step-forward" } : act({ type: "sort", delta: 1 });
  if (key.tab) return act({ type: "cycle-view", delta: key.shift ? -1 : 1 });
  if (key.return) return act({ type: "enter" });
  if (key.escape) return act({ type: "back" });
  if (key.ctrl || key.meta) return undefined;
  switch (input) {
    case "q":
      return { kind: "quit" };
    case "1":
    case "2":
    case "3":
    case "4":
    case "5":
      return act({ type: "view", view: VIEWS[Number(input) - 1] as ViewId });
    case "k":
      return act({ type: "move", delta: -1 });
    case "j":
      return act({ type: "move", delta: 1 });
    case "g":
      return act({ type: "home" });
    case "G":
      return act({ type: "end" });
    case "h":
      return act({ type: "sort", delta: -1 });
    case "l":
      return act({ type: "sort", delta: 1 });
    case "i":
      return act({ type: "invert" });
    case "p":
      return act({ type: "switch-pane" });
    case "/":
      return act({ type: "filter-start" });
    case " ":
      return ctx.replay ? { kind: "source", command: "toggle-pause" } : act({ type: "toggle-pause" });
    case "?":
      return act({ type: "toggle-help" });
  }
  return undefined;
}

/**
 * Splits one input event into single key presses. Ink hands keys that arrive together (fast typing,
 * tmux `send-keys`, a paste) over as one string; each character is a key here.
 *
 * @example
 * ```ts
 * splitKeys("jj\r", {}); // [["j", {}], ["j", {}], ["", { return: true }]]
 * ```
 */
export function splitKeys(input: string, key: KeyPress): [string, KeyPress][] {
  const chars = Array.from(input);
  if (chars.length <= 1) return [[input, key]];
  return chars.map((ch): [string, KeyPress] => {
    switch (ch) {
      case "\r":
      case "\n":
        return ["", { return: true }];
      case "\t":
        return ["", { tab: true }];
      case "\u007f":
      case "\b":
        return ["", { backspace: true }];
      case "\u001b":
        return ["", { escape: true }];
      default:
        return [ch, /[A-Z]/.test(ch) ? { shift: true } : {}];
    }
  });
}

/** The bindings as the help screen lists them. */
export const BINDINGS: readonly { readonly keys: string; readonly does: string }[] = [
  { keys: "1 2 3 4 5", does: "workers, connections, tasks, stats, clusters" },
  { keys: "tab / shift+tab", does: "next / previous view" },
  { keys: "↑ ↓  k j", does: "move the selection" },
  { keys: "pgup pgdn  g G", does: "page up / down, first / last row" },
  { keys: "← →  h l", does: "sort by the previous / next column (replay: ← → step)" },
  { keys: "i", does: "invert the sort order" },
  { keys: "enter", does: "details: a worker (from workers, connections, tasks, queues) or a cluster" },
  { keys: "esc", does: "back (scroll and sort are kept); clears the filter in a list" },
  { keys: "p", does: "switch pane: tasks ↔ queues, or a worker's connections ↔ tasks" },
  { keys: "/", does: "filter rows by regular expression (smart case); enter keeps, esc cancels" },
  { keys: "space", does: "pause / resume (replay: play / pause)" },
  { keys: "?", does: "this help" },
  { keys: "q  ctrl+c", does: "quit" },
];

/** Short hints for the footer, most useful first (cut to the terminal width). */
export const HINTS: readonly string[] = [
  "? help",
  "q quit",
  "1-5 views",
  "↑↓ move",
  "←→ sort",
  "i invert",
  "⏎ details",
  "/ filter",
  "␣ pause",
  "p pane",
];
