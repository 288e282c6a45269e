// How the provisioning scripts talk: one line per step, and one error type carrying the fix.

/** A failure of a setup step; `fix` is the command that resolves it. */
export class SetupError extends Error {
  constructor(message, fix) {
    super(fix ? `${message}\n  fix: ${fix}` : message);
    this.name = "SetupError";
    this.fix = fix;
  }
}

/** Prints `[<tool>] <step>: <text>` on stdout. */
export function say(tool, step, text) {
  process.stdout.write(`[${tool}] ${step}: ${text}\n`);
}
