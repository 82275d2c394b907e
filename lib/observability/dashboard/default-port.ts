/** The local web dashboard's default port (its own module: the CLI reads it without loading the server). */
export const DEFAULT_DASHBOARD_PORT = 8377;
