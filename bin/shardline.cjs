#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's CommonJS loader, so there is no build step.
require('tsx/cjs');
require('../lib/cli/main.ts')
  .buildCli()
  .parseAsync()
  .catch((err) => {
    console.error(`shardline: ${err.message}`);
    process.exit(1);
  });
