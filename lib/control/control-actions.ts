/**
 * What an operator can ask of the pipeline, apart from the control table code so the CLI can
 * declare its choices without loading the DynamoDB client.
 */
export const CONTROL_ACTIONS = ['pause', 'resume', 'drain', 'stop', 'emergency-stop'] as const;
export type ControlAction = (typeof CONTROL_ACTIONS)[number];
