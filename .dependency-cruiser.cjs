/**
 * Layering rules (issue 9, part 1): imports point down only. Entry folders (infra, functions,
 * agent-container, cli, local, bin, bench) import lib/ and a few named entry folders; lib/
 * imports no entry folder; no file cycle, no folder cycle; production code takes no
 * devDependency at run time. test/ may import anything.
 *
 * Run by `npm run lint` through scripts/layering.mjs (dependency-cruiser's JS API: its CLI
 * refuses Node 20, which this project supports), and by test/lint/layering.test.ts.
 */

/** The folders that hold entry points, each a layer above lib/. */
const ENTRY = ['infra', 'functions', 'agent-container', 'cli', 'local', 'bin', 'bench', 'test'];

/** A path regex for the entry folders other than those allowed. */
const entriesExcept = (...allowed) => `^(${ENTRY.filter((f) => !allowed.includes(f)).join('|')})/`;

/** Code that runs in production (the Lambda bundles, the agent image, the CLI, the CDK app). */
const PRODUCTION = '^(lib|functions|agent-container|cli|local|bin|infra)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-imports-no-entry-folder',
      comment: 'lib/ holds domain logic and AWS adapters; it is imported by the entry folders, never the reverse.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: entriesExcept() },
    },
    {
      name: 'infra-imports-only-lib',
      comment: 'The CDK app refers to Lambda and agent code by path (bundling), never by import.',
      severity: 'error',
      from: { path: '^infra/' },
      to: { path: entriesExcept('infra') },
    },
    {
      name: 'functions-import-only-lib',
      comment: 'A Lambda handler is an adapter over lib/; nothing else goes into its bundle.',
      severity: 'error',
      from: { path: '^functions/' },
      to: { path: entriesExcept('functions') },
    },
    {
      name: 'agent-container-imports-only-lib',
      comment: 'The agent image holds lib/ and its entry only (production dependencies, no CDK).',
      severity: 'error',
      from: { path: '^agent-container/' },
      to: { path: entriesExcept('agent-container') },
    },
    {
      name: 'cli-imports-only-lib-and-local',
      comment: 'The CLI renders and parses; local mode is the one entry folder it drives.',
      severity: 'error',
      from: { path: '^cli/' },
      to: { path: entriesExcept('cli', 'local') },
    },
    {
      name: 'local-imports-only-lib-infra-functions',
      comment: "Local mode synthesizes the stack (infra) and runs the chunker's handler factory (functions).",
      severity: 'error',
      from: { path: '^local/' },
      to: { path: entriesExcept('local', 'infra', 'functions') },
    },
    {
      name: 'bin-imports-only-cli',
      comment: 'The launcher starts the CLI and nothing else.',
      severity: 'error',
      from: { path: '^bin/' },
      to: { path: entriesExcept('bin', 'cli') },
    },
    {
      name: 'bench-imports-only-lib',
      comment: 'Benchmarks measure lib/ code, or start entry points as processes.',
      severity: 'error',
      from: { path: '^bench/' },
      to: { path: entriesExcept('bench') },
    },
    {
      name: 'no-circular',
      comment: 'A file cycle: one of the files belongs below the other, or the shared part in a third file.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'A folder cycle (e.g. lib/a -> lib/b -> lib/a): move what both need below both, or the dependent part up.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-dev-dependency-in-production',
      comment: 'Production code runs with production dependencies only (agent image, Lambda bundles, installed CLI). Type-only imports are erased.',
      severity: 'error',
      from: { path: PRODUCTION, pathNot: '^infra/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'infra-dev-dependencies-only-cdk',
      comment: 'The CDK app may take the CDK libraries and cdk-nag from devDependencies, nothing else.',
      severity: 'error',
      from: { path: '^infra/' },
      to: {
        dependencyTypes: ['npm-dev'],
        dependencyTypesNot: ['type-only'],
        pathNot: '(^|/)node_modules/(aws-cdk-lib|constructs|cdk-nag)/',
      },
    },
    {
      name: 'no-undeclared-package',
      comment: 'A package that is not in package.json (a transitive dependency) may vanish on the next install.',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unresolvable',
      comment: 'An import the cruiser cannot resolve escapes every rule above (bin/ requires compiled output that may not be built).',
      severity: 'error',
      from: { pathNot: '^bin/' },
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: '(^|/)node_modules/' },
    // Fixtures hold deliberate violations for test/lint/layering.test.ts.
    exclude: { path: '^test/fixtures/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    // Subpath exports such as csv-parse/sync and @aws-lambda-powertools/metrics/middleware.
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['require', 'node', 'default', 'types'],
      mainFields: ['main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
