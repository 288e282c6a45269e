/** A stream the CLI writes to. */
export interface OutStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Everything a command touches outside itself; the real process by default, fakes in tests. */
export interface CliIO {
  stdout: OutStream;
  stderr: OutStream;
  env: NodeJS.ProcessEnv;
  /** The directory relative `--out` paths are resolved against. */
  cwd: string;
}

/** The real process's streams, environment and working directory. */
export function processIO(): CliIO {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };
}
