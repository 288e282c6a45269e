/** ANSI styles the terminal table uses. */
export type Style = "bold" | "dim" | "red" | "green" | "yellow" | "magenta" | "gray";

const CODES: Readonly<Record<Style, [number, number]>> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  magenta: [35, 39],
  gray: [90, 39],
};

/** Wraps `text` in the ANSI codes of `styles`, or returns it unchanged when `enabled` is false. */
export function paint(enabled: boolean, text: string, ...styles: Style[]): string {
  if (!enabled || styles.length === 0) return text;
  let out = text;
  for (const s of styles) out = `\u001b[${CODES[s][0]}m${out}\u001b[${CODES[s][1]}m`;
  return out;
}

/** `text` without ANSI escape sequences. */
export function stripAnsi(text: string): string {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}

/** Pads `text` with spaces to `width` visible characters (ANSI codes do not count). */
export function padVisible(text: string, width: number): string {
  const visible = [...stripAnsi(text)].length;
  return visible >= width ? text : text + " ".repeat(width - visible);
}

/**
 * Whether to colour output: never with `--no-color` or a non-empty `NO_COLOR`
 * (https://no-color.org), always with a non-empty `FORCE_COLOR` other than `0`, else only on a TTY.
 */
export function colorEnabled(options: {
  noColorFlag: boolean;
  env: NodeJS.ProcessEnv;
  isTTY: boolean;
}): boolean {
  if (options.noColorFlag) return false;
  if (options.env.NO_COLOR) return false;
  const force = options.env.FORCE_COLOR;
  if (force !== undefined && force !== "") return force !== "0";
  return options.isTTY;
}
