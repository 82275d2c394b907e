/**
 * The structured log callback that lib/ parts take as a dependency (a Logger, or a test's array).
 * It sits at the bottom of lib/ so that the ledger, the cluster and the agent can log without
 * depending on lib/observability, which reads them all.
 */
export type Log = (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
