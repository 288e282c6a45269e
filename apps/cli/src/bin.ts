#!/usr/bin/env node
import { main } from "./main.js";

// exitCode rather than process.exit(): stdout may still be flushing a large report to a pipe.
process.exitCode = await main(process.argv.slice(2));
