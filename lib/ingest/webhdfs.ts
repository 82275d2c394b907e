import { pipeline, Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { SourceFile } from './sources';

/**
 * A client of the WebHDFS REST API (Hadoop's `hadoop-hdfs/WebHDFS.md`) with `fetch`: the
 * operations an ingest needs, GETFILESTATUS, LISTSTATUS and OPEN (a 307 redirect from the
 * NameNode to a DataNode, followed here so errors can name the DataNode).
 */

/** How to reach and authenticate to WebHDFS. */
export interface WebHdfsOptions {
  /** NameNode HTTP port for `hdfs://` URLs, whose port is the RPC port (Hadoop 3: 9870, Hadoop 2: 50070). @default 9870 */
  httpPort?: number;
  /** `user.name` on a cluster with simple authentication (not sent with a delegation token). @default none (the cluster's default web user) */
  user?: string;
  /** A Hadoop delegation token (`delegation=`) on a Kerberized cluster, e.g. from `curl --negotiate -u : '…?op=GETDELEGATIONTOKEN'`. @default none */
  delegationToken?: string;
  /** The fetch to use. @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** A WebHDFS URL taken apart: the NameNode's HTTP base URL and the absolute HDFS path. */
export interface WebHdfsLocation {
  baseUrl: string;
  path: string;
}

/** One entry of a `FileStatuses` or `FileStatus` answer (the fields shardline reads). */
export interface HdfsFileStatus {
  pathSuffix: string;
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK';
  length: number;
}

/** An error answer of WebHDFS: its HTTP status and, when the body was a `RemoteException`, the Java exception. */
export class WebHdfsError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly exception?: string,
  ) {
    super(message);
    this.name = 'WebHdfsError';
  }
}

const MAX_REDIRECTS = 5;

/** Whether `source` names HDFS: `hdfs://`, `webhdfs://` or `swebhdfs://`. */
export function isHdfsUrl(source: string): boolean {
  return /^(hdfs|webhdfs|swebhdfs):\/\//.test(source);
}

/**
 * `webhdfs://host:port/path` (the NameNode's HTTP port), `swebhdfs://…` (HTTPS), or
 * `hdfs://host[:rpc-port]/path`, whose RPC port is not WebHDFS's: `httpPort` is used instead.
 */
export function parseHdfsUrl(source: string, httpPort = 9870): WebHdfsLocation {
  let url: URL;
  try {
    url = new URL(source);
  } catch {
    throw new Error(`invalid HDFS url: ${source} (expected hdfs://namenode:8020/path or webhdfs://namenode:9870/path)`);
  }
  if (!isHdfsUrl(source) || !url.hostname) throw new Error(`invalid HDFS url: ${source} (expected hdfs://namenode:8020/path or webhdfs://namenode:9870/path)`);
  const scheme = url.protocol === 'swebhdfs:' ? 'https' : 'http';
  const port = url.protocol === 'hdfs:' ? httpPort : url.port ? Number(url.port) : httpPort;
  const path = decodeURIComponent(url.pathname).replace(/\/+$/, '') || '/';
  return { baseUrl: `${scheme}://${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${port}`, path };
}

/** The WebHDFS operations of an ingest against one NameNode. */
export class WebHdfsClient {
  private readonly fetch: typeof fetch;

  constructor(
    private readonly baseUrl: string,
    private readonly opts: WebHdfsOptions = {},
  ) {
    this.fetch = opts.fetch ?? globalThis.fetch;
  }

  /** GETFILESTATUS; undefined when the path does not exist. */
  async getFileStatus(path: string): Promise<HdfsFileStatus | undefined> {
    const res = await this.request(path, 'GETFILESTATUS');
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    return ((await this.json(res, path, 'GETFILESTATUS')) as { FileStatus: HdfsFileStatus }).FileStatus;
  }

  /** LISTSTATUS of a directory: its entries. */
  async listStatus(path: string): Promise<HdfsFileStatus[]> {
    const res = await this.request(path, 'LISTSTATUS');
    return ((await this.json(res, path, 'LISTSTATUS')) as { FileStatuses: { FileStatus: HdfsFileStatus[] } }).FileStatuses.FileStatus;
  }

  /**
   * OPEN: asks the NameNode, follows its redirect to a DataNode and streams the file from there.
   * The stream fails unless exactly `length` bytes arrive (a DataNode that dies mid-file).
   */
  async open(path: string, length: number): Promise<Readable> {
    let url = this.url(path, 'OPEN');
    let hop = 'NameNode';
    for (let redirects = 0; ; redirects++) {
      const res = await this.send(url, hop, path);
      if (res.status >= 300 && res.status < 400) {
        const location = res.headers.get('location');
        await res.body?.cancel();
        if (!location) throw new WebHdfsError(`WebHDFS OPEN ${path}: ${res.status} redirect without a Location`, res.status);
        if (redirects >= MAX_REDIRECTS) throw new WebHdfsError(`WebHDFS OPEN ${path}: more than ${MAX_REDIRECTS} redirects`, res.status);
        url = new URL(location, url).toString();
        hop = `DataNode ${new URL(url).host}`;
        continue;
      }
      if (!res.ok || !res.body) throw await remoteError(res, path, 'OPEN');
      // pipeline, not pipe: a DataNode connection that breaks must fail the stream the upload reads, and an aborted upload must close the connection.
      const checked = exactLength(length, path);
      pipeline(Readable.fromWeb(res.body as WebReadableStream<Uint8Array>), checked, () => {});
      return checked;
    }
  }

  private async request(path: string, op: string): Promise<Response> {
    return this.send(this.url(path, op), 'NameNode', path);
  }

  /** One HTTP GET without following redirects; a connection failure says which server could not be reached. */
  private async send(url: string, server: string, path: string): Promise<Response> {
    try {
      return await this.fetch(url, { redirect: 'manual', headers: { accept: 'application/json, application/octet-stream' } });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const reason = cause?.code ?? cause?.message ?? (err as Error).message;
      const hint = server.startsWith('DataNode') ? ': the machine running the ingest must resolve and reach every DataNode (HTTP port 9864 by default)' : '';
      throw new Error(`WebHDFS: cannot reach the ${server} for ${path} (${reason})${hint}`, { cause: err });
    }
  }

  private url(path: string, op: string): string {
    const encoded = path
      .split('/')
      .map((segment) => encodeURIComponent(segment))
      .join('/');
    const query = new URLSearchParams({ op });
    // With a token the user is the token's (WebHDFS.md, Authentication): user.name goes only without one.
    if (this.opts.delegationToken) query.set('delegation', this.opts.delegationToken);
    else if (this.opts.user) query.set('user.name', this.opts.user);
    return `${this.baseUrl}/webhdfs/v1${encoded}?${query}`;
  }

  private async json(res: Response, path: string, op: string): Promise<unknown> {
    if (!res.ok) throw await remoteError(res, path, op);
    return res.json();
  }
}

/** The error of a failed WebHDFS answer, with the `RemoteException` message when the body has one. */
async function remoteError(res: Response, path: string, op: string): Promise<WebHdfsError> {
  const text = await res.text().catch(() => '');
  let remote: { exception?: string; message?: string } | undefined;
  try {
    remote = (JSON.parse(text) as { RemoteException?: { exception?: string; message?: string } }).RemoteException;
  } catch {
    // not JSON: a proxy or a gateway answered
  }
  const detail = remote ? `${remote.exception}: ${remote.message}` : text.slice(0, 200) || res.statusText;
  return new WebHdfsError(`WebHDFS ${op} ${path}: ${res.status} ${detail}`, res.status, remote?.exception);
}

/** Passes bytes through and fails the stream unless exactly `length` of them passed. */
function exactLength(length: number, path: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > length) done(new Error(`WebHDFS OPEN ${path}: more than the ${length} bytes its status gives`));
      else done(null, chunk);
    },
    flush(done) {
      done(seen === length ? null : new Error(`WebHDFS OPEN ${path}: ${seen} bytes arrived, its status gives ${length}`));
    },
  });
}

/**
 * Lists an HDFS source the way a local path is read: a file gives its base name, a directory
 * every file below it (recursively) relative to it. Like Hadoop's FileInputFormat, names that
 * begin with `_` or `.` (`_SUCCESS`, `_temporary/`, `.staging/`) are not data and are left out;
 * symlinks are skipped.
 */
export async function listHdfsSource(source: string, opts: WebHdfsOptions = {}): Promise<SourceFile[]> {
  const { baseUrl, path } = parseHdfsUrl(source, opts.httpPort);
  const client = new WebHdfsClient(baseUrl, opts);
  const status = await client.getFileStatus(path);
  if (!status) throw new Error(`ingest source not found: ${source} (no such HDFS path ${path})`);
  const file = (full: string, name: string, size: number): SourceFile => ({ name, size, open: () => client.open(full, size) });
  if (status.type === 'FILE') return [file(path, path.slice(path.lastIndexOf('/') + 1), status.length)];
  if (status.type !== 'DIRECTORY') throw new Error(`ingest source is neither a file nor a directory: ${source}`);

  const files: SourceFile[] = [];
  const walk = async (dir: string, relative: string): Promise<void> => {
    for (const entry of await client.listStatus(dir)) {
      if (entry.pathSuffix.startsWith('_') || entry.pathSuffix.startsWith('.')) continue;
      const full = `${dir === '/' ? '' : dir}/${entry.pathSuffix}`;
      const name = relative ? `${relative}/${entry.pathSuffix}` : entry.pathSuffix;
      if (entry.type === 'FILE') files.push(file(full, name, entry.length));
      else if (entry.type === 'DIRECTORY') await walk(full, name);
    }
  };
  await walk(path, '');
  if (files.length === 0) throw new Error(`ingest source has no files: ${source}`);
  return files.sort((a, b) => (a.name < b.name ? -1 : 1));
}
