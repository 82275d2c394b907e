/** Local provisioning: CDK template in, resources on a local AWS endpoint out (see provision.ts). */
export { provisionFromTemplate, HANDLERS, type ProvisionOptions, type ProvisionResult } from './provision';
export { synthesizeTemplate, type SynthesizeOptions } from './synthesize';
export type { CloudFormationTemplateJson, CfnResourceJson, CfnOutputJson } from './template';
