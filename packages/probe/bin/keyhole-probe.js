#!/usr/bin/env node
// The `keyhole-probe` command: a committed stub that loads the built one. npm links a bin only
// when its file exists at install time, and in a fresh clone of the monorepo dist/ is built
// after `npm ci`.
import { existsSync } from "node:fs";

const built = new URL("../dist/cli.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    "keyhole-probe is not built yet: run `npm run build` (or `node scripts/setup.mjs`) in the repository first.\n",
  );
  process.exit(1);
}
await import(built.href);
