#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's CommonJS loader, so there is no build step.
require('tsx/cjs');
require('../cli/main.ts').runCli();
