import { SignatureV4 } from '@smithy/signature-v4';
import type { AwsCredentialIdentity, Provider, SourceData } from '@smithy/types';
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';

const bytes = (d: SourceData): string | Uint8Array => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength));

/** SHA-256 (keyed: HMAC) in the shape the SigV4 signer asks for. */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret ? createHmac('sha256', bytes(secret)) : createHash('sha256');
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** What signs the call: the credentials and region of any SDK client of the caller. */
export interface CallerCredentials {
  credentials: AwsCredentialIdentity | Provider<AwsCredentialIdentity>;
  region: string;
  /** An AWS-compatible endpoint (moto, LocalStack); AWS's regional STS endpoint otherwise. */
  endpoint?: string;
}

/**
 * The ARN of the IAM identity whose credentials these are (`sts:GetCallerIdentity`, which needs no
 * permission). The CLI records it with each control action apart from the free-text
 * `requestedBy`, so that an operator cannot type someone else's name into the history. A signed
 * query request by hand: the SDK's STS client is not a dependency of this project.
 */
export async function callerArn(c: CallerCredentials): Promise<string> {
  const url = new URL(c.endpoint ?? `https://sts.${c.region}.amazonaws.com`);
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const signer = new SignatureV4({ credentials: c.credentials, region: c.region, service: 'sts', sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST',
    protocol: url.protocol,
    hostname: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    path: '/',
    query: {},
    headers: { host: url.host, 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    body,
  });
  const res = await fetch(new URL('/', url), { method: 'POST', headers: signed.headers, body });
  const text = await res.text();
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (!res.ok || !arn) throw new Error(`sts:GetCallerIdentity failed (HTTP ${res.status}): ${text.slice(0, 200)}`);
  return arn;
}
