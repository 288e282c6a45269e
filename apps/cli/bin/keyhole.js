#!/usr/bin/env node
// The `keyhole` command: a committed stub that loads the built CLI. npm links a bin only when its
// file exists at install time, and in a fresh clone of the monorepo dist/ is built after
// `npm ci`; pointing the bin here keeps `npx keyhole` linked (not a registry lookup of a
// package named "keyhole", which answers 404).
import { existsSync } from "node:fs";

const built = new URL("../dist/bin.js", import.meta.url);
if (!existsSync(built)) {
  process.stderr.write(
    "keyhole is not built yet: run `npm run build` (or `npm run compare`) in the repository first.\n",
  );
  process.exit(1);
}
await import(built.href);
