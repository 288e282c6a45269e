import { parseArgs } from "node:util";
import { FORMATS, type Format, formatForFile } from "./render.js";
import { DIFF_FORMATS, type DiffFormat } from "./render-diff.js";
import { UsageError } from "./usage-error.js";

/** A parsed `keyhole` command line. */
export type Command =
  | {
      command: "compare";
      /** Backend ids, or undefined for all. */
      backends?: string[];
      /** Check id globs, or undefined for all. */
      checks?: string[];
      format: Format;
      out?: string;
      noColor: boolean;
      quiet: boolean;
      /** A JSON report to diff the new one against (`--baseline`). */
      baseline?: string;
      /** Leave out backends that run on a multi-node cluster (`--no-cluster`). */
      noCluster?: boolean;
      /** Engine sets: `all` (default), `host`, or one provisioned set by name (`trixie`). */
      engines?: string;
    }
  | {
      command: "diff";
      /** The first (older) JSON report. */
      before: string;
      /** The second (newer) JSON report. */
      after: string;
      format: DiffFormat;
      noColor: boolean;
    }
  | { command: "doctor"; noColor: boolean }
  | { command: "gc"; dryRun: boolean; runId?: string }
  | { command: "version" }
  | { command: "help" };

const HINT = "Run `keyhole --help` for usage.";

/**
 * Parses `argv` (without `node` and the script) into a {@link Command}. Throws
 * {@link UsageError} (exit code 2) saying what to type instead.
 *
 * @example
 * ```ts
 * parseCommand(["compare", "--check", "file.*", "--format", "json"]);
 * ```
 */
export function parseCommand(argv: readonly string[]): Command {
  const [first, ...rest] = argv;
  if (first === undefined || first === "--help" || first === "-h" || first === "help") {
    return { command: "help" };
  }
  if (first === "--version" || first === "-v" || first === "version") {
    if (rest.length > 0) throw new UsageError(`\`keyhole --version\` takes no arguments. ${HINT}`);
    return { command: "version" };
  }
  if (rest.includes("--help") || rest.includes("-h")) return { command: "help" };
  switch (first) {
    case "compare":
      return parseCompare(rest);
    case "diff":
      return parseDiff(rest);
    case "doctor": {
      const { values } = parse("doctor", rest, { "no-color": { type: "boolean" } });
      return { command: "doctor", noColor: values["no-color"] === true };
    }
    case "gc": {
      const { values } = parse("gc", rest, {
        "dry-run": { type: "boolean" },
        run: { type: "string" },
      });
      const runId = values.run as string | undefined;
      if (runId !== undefined && !/^[A-Za-z0-9_.-]+$/.test(runId)) {
        throw new UsageError(
          `--run needs a run id (the keyhole.run label), e.g. \`keyhole gc --run 3fa2c1d9e0\`. ${HINT}`,
        );
      }
      return { command: "gc", dryRun: values["dry-run"] === true, ...(runId ? { runId } : {}) };
    }
    default:
      throw new UsageError(
        first.startsWith("-")
          ? `Unknown option ${JSON.stringify(first)}: start with a command, e.g. \`keyhole compare\`. ${HINT}`
          : `Unknown command ${JSON.stringify(first)}. Use \`keyhole compare\`, \`keyhole doctor\` or \`keyhole gc\`. ${HINT}`,
      );
  }
}

function parseCompare(args: string[]): Command {
  const { values } = parse("compare", args, {
    backend: { type: "string", multiple: true },
    check: { type: "string", multiple: true },
    format: { type: "string" },
    out: { type: "string" },
    "no-color": { type: "boolean" },
    quiet: { type: "boolean" },
    baseline: { type: "string" },
    "no-cluster": { type: "boolean" },
    engines: { type: "string" },
  });
  const out = values.out as string | undefined;
  const engines = values.engines as string | undefined;
  if (engines !== undefined && !/^[a-z][a-z0-9-]*$/.test(engines)) {
    throw new UsageError(
      `--engines needs all, host or an engine set's name (e.g. trixie), got ${JSON.stringify(engines)}. ${HINT}`,
    );
  }
  const baseline = values.baseline as string | undefined;
  if (baseline !== undefined && baseline.trim() === "") {
    throw new UsageError(
      `--baseline needs a JSON report, e.g. \`--baseline reports/main.json\`. ${HINT}`,
    );
  }
  if (out !== undefined && out.trim() === "") {
    throw new UsageError(
      `--out needs a file name, e.g. \`--out reports/keyhole-report.html\`. ${HINT}`,
    );
  }
  let format: Format = "table";
  const given = values.format as string | undefined;
  if (given !== undefined) {
    if (!(FORMATS as readonly string[]).includes(given)) {
      throw new UsageError(
        `Unknown format ${JSON.stringify(given)}. Use --format ${FORMATS.join(", --format ")}.`,
      );
    }
    format = given as Format;
  } else if (out !== undefined) {
    format = formatForFile(out) ?? "table";
  }
  return {
    command: "compare",
    backends: list("--backend", values.backend as string[] | undefined),
    checks: list("--check", values.check as string[] | undefined),
    format,
    ...(out === undefined ? {} : { out }),
    noColor: values["no-color"] === true,
    quiet: values.quiet === true,
    ...(baseline === undefined ? {} : { baseline }),
    ...(values["no-cluster"] === true ? { noCluster: true } : {}),
    ...(engines === undefined ? {} : { engines }),
  };
}

function parseDiff(args: string[]): Command {
  const { values, positionals } = parse(
    "diff",
    args,
    {
      format: { type: "string" },
      "no-color": { type: "boolean" },
    },
    true,
  );
  if (positionals.length !== 2) {
    throw new UsageError(
      `keyhole diff takes two JSON reports, e.g. \`keyhole diff before.json after.json\` (got ${positionals.length}). ${HINT}`,
    );
  }
  let format: DiffFormat = "table";
  const given = values.format as string | undefined;
  if (given !== undefined) {
    if (!(DIFF_FORMATS as readonly string[]).includes(given)) {
      throw new UsageError(
        `Unknown diff format ${JSON.stringify(given)}. Use --format ${DIFF_FORMATS.join(", --format ")}.`,
      );
    }
    format = given as DiffFormat;
  }
  return {
    command: "diff",
    before: positionals[0]!,
    after: positionals[1]!,
    format,
    noColor: values["no-color"] === true,
  };
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

function parse(
  command: string,
  args: string[],
  options: Options,
  allowPositionals = false,
): { values: Values; positionals: string[] } {
  try {
    const parsed = parseArgs({ args, options, allowPositionals, strict: true });
    return { values: parsed.values, positionals: parsed.positionals };
  } catch (error) {
    const detail = error instanceof Error ? error.message.split("\n")[0] : String(error);
    throw new UsageError(
      `keyhole ${command}: ${detail}. Run \`keyhole ${command} --help\` for usage.`,
    );
  }
}

/** `["a,b", "c"]` → `["a", "b", "c"]`; undefined stays undefined; an empty item is a usage error. */
function list(flag: string, values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const items = values.flatMap((v) => v.split(",")).map((v) => v.trim());
  if (items.some((v) => v === "")) {
    throw new UsageError(
      `${flag} needs a value, e.g. \`${flag} ${flag === "--check" ? "'file.*'" : "podman-file"}\`. ${HINT}`,
    );
  }
  return [...new Set(items)];
}
