#!/usr/bin/env node
/**
 * The `bosun` executable: runs the command line (src/cli/program.ts) on this process's arguments.
 */
import { main } from "./program.js";

process.exitCode = await main(process.argv.slice(2));
