/** The subset of `fetch` the metadata clients use (tests inject one). */
export type MetadataFetch = (url: string, init?: { method?: string; headers?: Record<string, string>; signal?: AbortSignal }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

const IMDS = 'http://169.254.169.254/latest';
/** Tokens live six hours; one is asked for again well before that. */
const TOKEN_TTL_SECONDS = 21600;
const TOKEN_REUSE_MS = 5 * 3600_000;

/**
 * EC2 instance metadata over IMDSv2 (a session token, then GETs with it). Every call gives up
 * after `timeoutMs`: where IMDS is unreachable (awsvpc tasks with it blocked, a hop limit of 1
 * from a bridge-mode container) the answer is `undefined`, never a hang.
 */
export class InstanceMetadata {
  private token?: { value: string; at: number };

  constructor(
    private readonly fetchFn: MetadataFetch,
    private readonly opts: { timeoutMs?: number; now?: () => number } = {},
  ) {}

  /** A metadata path (e.g. `instance-id`, `placement/region`), or undefined when absent or unreachable. */
  async get(path: string): Promise<string | undefined> {
    const res = await this.request(path);
    return res?.ok ? (await res.text()).trim() : undefined;
  }

  /** Like `get`, but tells a 404 (the item does not exist: no notice) from IMDS being unreachable. */
  async probe(path: string): Promise<{ status: number; body: string } | undefined> {
    const res = await this.request(path);
    return res ? { status: res.status, body: res.ok ? await res.text() : '' } : undefined;
  }

  private async request(path: string) {
    try {
      const token = await this.sessionToken();
      if (!token) return undefined;
      const res = await this.fetchFn(`${IMDS}/meta-data/${path}`, { headers: { 'X-aws-ec2-metadata-token': token }, signal: this.signal() });
      if (res.status === 401) this.token = undefined; // expired: the next call asks for a new one
      return res;
    } catch {
      return undefined;
    }
  }

  private async sessionToken(): Promise<string | undefined> {
    const now = (this.opts.now ?? Date.now)();
    if (this.token && now - this.token.at < TOKEN_REUSE_MS) return this.token.value;
    const res = await this.fetchFn(`${IMDS}/api/token`, { method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) }, signal: this.signal() });
    if (!res.ok) return undefined;
    this.token = { value: await res.text(), at: now };
    return this.token.value;
  }

  private signal(): AbortSignal {
    return AbortSignal.timeout(this.opts.timeoutMs ?? 1000);
  }
}
