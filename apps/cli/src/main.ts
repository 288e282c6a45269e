import { createRequire } from "node:module";
import { redact } from "@keyhole/core";
import { parseCommand } from "./args.js";
import { compareCommand } from "./compare-command.js";
import { diffCommand } from "./diff-command.js";
import { doctorCommand } from "./doctor-command.js";
import { exitCodeForError } from "./exit-codes.js";
import { gcCommand } from "./gc-command.js";
import { HELP } from "./help.js";
import { type CliIO, processIO } from "./io.js";
import { UsageError } from "./usage-error.js";

/** This package's version, for `keyhole --version`. */
export const VERSION: string = (
  createRequire(import.meta.url)("../package.json") as { version: string }
).version;

/**
 * Runs `keyhole` with `argv` (without `node` and the script) and resolves to the exit code. It
 * never calls `process.exit`, so it can be embedded and tested; `bin.ts` does that.
 *
 * @example
 * ```ts
 * process.exitCode = await main(["compare", "--format", "json"]);
 * ```
 */
export async function main(argv: readonly string[], io: CliIO = processIO()): Promise<number> {
  try {
    const cmd = parseCommand(argv);
    switch (cmd.command) {
      case "help":
        io.stdout.write(HELP);
        return 0;
      case "version":
        io.stdout.write(`${VERSION}\n`);
        return 0;
      case "compare":
        return await compareCommand(cmd, io);
      case "diff":
        return diffCommand(cmd, io);
      case "doctor":
        return await doctorCommand(cmd, io);
      case "gc":
        return await gcCommand(cmd, io);
    }
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const prefix =
      error instanceof UsageError || message.startsWith("[keyhole]") ? "" : "keyhole: ";
    io.stderr.write(`${redact(prefix + message)}\n`);
    return exitCodeForError(error);
  }
}
