#!/usr/bin/env node
// The operator CLI, compiled to dist/ by `npm run build` (which `npm ci` runs through `prepare`).
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const main = join(__dirname, '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  console.error(`shardline: ${main} is missing: run \`npm run build\` first`);
  process.exit(1);
}
require(main).runCli();
