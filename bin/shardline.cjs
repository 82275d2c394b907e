#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's CommonJS loader, so there is no build step.
require('tsx/cjs');

// `shardline logs` is interactive and must answer in under a second: it loads only itself,
// not the SDK clients and CDK code of every other command.
const fastPath = process.argv[2] === 'logs';
const program = fastPath ? require('../cli/logs.ts').buildLogsCli() : require('../cli/main.ts').buildCli();
program.parseAsync().catch((err) => {
  console.error(`shardline: ${err.message}`);
  process.exit(1);
});
