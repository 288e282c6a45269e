/**
 * The command line was wrong (exit code 2). The message says what was wrong and what to type
 * instead; it never contains a secret (the CLI never takes one).
 */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}
