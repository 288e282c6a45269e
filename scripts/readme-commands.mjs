// The `keyhole` command lines the READMEs show, so a test can run each safe one exactly as
// written (scripts/readme-commands.test.mjs) and parse the others with the CLI's own parser.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";

/**
 * Every Markdown file a newcomer reads: the root README, DEVELOPERS.md, bench's README and each
 * package's and app's README.
 * @param {string} root the repository root
 * @returns {string[]} absolute paths
 */
export function readmeFiles(root) {
  const groups = ["packages", "apps"].flatMap((g) =>
    existsSync(join(root, g))
      ? readdirSync(join(root, g)).map((d) => join(root, g, d, "README.md"))
      : [],
  );
  return [join(root, "README.md"), join(root, "DEVELOPERS.md"), join(root, "bench", "README.md")]
    .concat(groups)
    .filter((f) => existsSync(f));
}

/**
 * Splits a shell command line into words: single and double quotes, backslash escapes outside
 * single quotes, and a `#` comment at the start of a word. No expansion (the README lines
 * need none).
 * @param {string} line
 * @returns {string[]}
 */
export function shellWords(line) {
  const words = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated ' in: ${line}`);
      word += line.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      i++;
      while (i < line.length && line[i] !== '"') {
        if (line[i] === "\\" && i + 1 < line.length) i++;
        word += line[i++];
      }
      if (i >= line.length) throw new Error(`unterminated " in: ${line}`);
      inWord = true;
    } else if (c === "\\" && i + 1 < line.length) {
      word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === "#" && !inWord) {
      break;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

/**
 * @typedef {object} ReadmeCommand
 * @property {string} file the README, relative to the repository root
 * @property {number} line its 1-based line number
 * @property {string} text the line as written (without its comment)
 * @property {"npx" | "installed"} via `npx keyhole …` (this repo, or a project that installed
 *   @keyhole/cli) or `keyhole …` (a global install)
 * @property {string[]} args the words after `keyhole`
 */

/**
 * The `keyhole` command lines in the fenced shell blocks (`sh`, `bash`, `shell`, `console`) of
 * the given Markdown files. `keyhole-probe` and other commands are not included.
 * @param {string} root the repository root
 * @param {string[]} files absolute Markdown paths
 * @returns {ReadmeCommand[]}
 */
export function readmeCommands(root, files) {
  /** @type {ReadmeCommand[]} */
  const found = [];
  for (const file of files) {
    const lines = readFileSync(file, "utf8").split("\n");
    let fence;
    lines.forEach((raw, index) => {
      const open = /^```(\w*)\s*$/.exec(raw);
      if (fence === undefined && open) {
        fence = open[1] ?? "";
        return;
      }
      if (fence !== undefined && /^```\s*$/.test(raw)) {
        fence = undefined;
        return;
      }
      if (!["sh", "bash", "shell", "console"].includes(fence ?? "-")) return;
      const words = shellWords(raw.replace(/^\$ /, ""));
      const at = words[0] === "npx" ? 1 : 0;
      if (words[at] !== "keyhole") return;
      found.push({
        file: relative(root, file),
        line: index + 1,
        text: words.join(" "),
        via: at === 1 ? "npx" : "installed",
        args: words.slice(at + 1),
      });
    });
  }
  return found;
}

/**
 * Whether a README command is safe and quick to run as written, and if not, why. Safe:
 * `--version`, `--help`, `doctor`, `gc --dry-run`, and `compare` limited by both `--backend`
 * and `--check` without `--out` (it would write a file) or `--baseline` (it needs one).
 * An unscoped `gc` is never run.
 * @param {string[]} args
 * @returns {{ run: true } | { run: false, why: string }}
 */
export function safety(args) {
  const [command] = args;
  if (args.length === 1 && (command === "--version" || command === "--help")) return { run: true };
  if (command === "doctor") return { run: true };
  if (command === "gc") {
    return args.includes("--dry-run")
      ? { run: true }
      : { run: false, why: "gc without --dry-run removes objects" };
  }
  if (command === "compare") {
    if (!args.includes("--backend") || !args.includes("--check")) {
      return { run: false, why: "an unscoped compare runs every check on every engine (minutes)" };
    }
    if (args.includes("--out") || args.includes("--baseline")) {
      return { run: false, why: "writes or reads a report file" };
    }
    return { run: true };
  }
  return { run: false, why: `${command} needs files the README does not create` };
}
