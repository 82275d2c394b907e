import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A NameNode and a DataNode that answer the WebHDFS REST API as Hadoop documents it
 * (hadoop-hdfs/src/site/markdown/WebHDFS.md): GETFILESTATUS and LISTSTATUS answer `FileStatus` /
 * `FileStatuses` JSON, OPEN answers `307 TEMPORARY_REDIRECT` to the DataNode (which serves the
 * bytes as application/octet-stream), errors are `RemoteException` JSON with the documented
 * status codes. Two HTTP servers on two ports, so the redirect really changes host:port. Not an
 * HDFS: no blocks, no security beyond recording `user.name` and `delegation`.
 */
export interface FakeWebHdfs {
  /** `webhdfs://127.0.0.1:<NameNode port>` */
  readonly url: string;
  readonly nameNodePort: number;
  readonly dataNodePort: number;
  /** Every request either server received, in order. */
  readonly requests: { server: 'namenode' | 'datanode'; path: string; query: Record<string, string> }[];
  /** HDFS path → file contents; directories are implied by the paths. */
  readonly files: Map<string, Buffer>;
  /** Paths whose OPEN the DataNode cuts short: it sends this many bytes (chunked, no Content-Length) and ends. */
  readonly truncate: Map<string, number>;
  /** Redirect OPEN to this base URL instead of the DataNode (e.g. a port nothing listens on). */
  redirectTo?: string;
  close(): Promise<void>;
}

const PREFIX = '/webhdfs/v1';

export async function startFakeWebHdfs(files: Record<string, Buffer>): Promise<FakeWebHdfs> {
  const fake = {
    requests: [] as FakeWebHdfs['requests'],
    files: new Map(Object.entries(files)),
    truncate: new Map<string, number>(),
    redirectTo: undefined as string | undefined,
  };
  const dataNode = await listen((req, res) => serveDataNode(fake, req, res));
  const dataNodePort = (dataNode.address() as AddressInfo).port;
  const nameNode = await listen((req, res) => serveNameNode(fake, dataNodePort, req, res));
  const nameNodePort = (nameNode.address() as AddressInfo).port;
  return Object.assign(fake, {
    url: `webhdfs://127.0.0.1:${nameNodePort}`,
    nameNodePort,
    dataNodePort,
    close: async () => {
      for (const server of [nameNode, dataNode]) {
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      }
    },
  });
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<Server> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

type State = Pick<FakeWebHdfs, 'requests' | 'files' | 'truncate' | 'redirectTo'>;

function parse(req: IncomingMessage): { path: string; query: Record<string, string> } {
  const url = new URL(req.url ?? '/', 'http://x');
  const path = decodeURIComponent(url.pathname.slice(PREFIX.length)).replace(/\/+$/, '') || '/';
  return { path, query: Object.fromEntries(url.searchParams) };
}

function serveNameNode(fake: State, dataNodePort: number, req: IncomingMessage, res: ServerResponse): void {
  const { path, query } = parse(req);
  fake.requests.push({ server: 'namenode', path, query });
  if (!req.url?.startsWith(PREFIX)) return remoteException(res, 404, 'FileNotFoundException', `no WebHDFS at ${req.url}`);
  const op = query.op?.toUpperCase();
  const status = statusOf(fake.files, path);
  if (op !== 'GETFILESTATUS' && op !== 'LISTSTATUS' && op !== 'OPEN') return remoteException(res, 400, 'IllegalArgumentException', `Invalid value for webhdfs parameter "op": ${query.op}`);
  if (!status) return remoteException(res, 404, 'FileNotFoundException', `File does not exist: ${path}`);
  if (op === 'GETFILESTATUS') return json(res, { FileStatus: { ...status, pathSuffix: '' } });
  if (op === 'LISTSTATUS') {
    if (status.type === 'FILE') return json(res, { FileStatuses: { FileStatus: [{ ...status, pathSuffix: '' }] } });
    const children = new Map<string, ReturnType<typeof fileStatus>>();
    const base = path === '/' ? '/' : `${path}/`;
    for (const file of fake.files.keys()) {
      if (!file.startsWith(base)) continue;
      const child = file.slice(base.length).split('/')[0];
      children.set(child, statusOf(fake.files, `${base}${child}`)!);
    }
    return json(res, { FileStatuses: { FileStatus: [...children].sort(([a], [b]) => (a < b ? -1 : 1)).map(([name, s]) => ({ ...s, pathSuffix: name })) } });
  }
  if (status.type !== 'FILE') return remoteException(res, 404, 'FileNotFoundException', `Path is not a file: ${path}`);
  const location = new URL(`${fake.redirectTo ?? `http://127.0.0.1:${dataNodePort}`}${req.url}`);
  location.searchParams.set('namenoderpcaddress', 'namenode:8020');
  location.searchParams.set('offset', '0');
  res.writeHead(307, 'TEMPORARY_REDIRECT', { Location: location.toString(), 'Content-Length': '0' }).end();
}

function serveDataNode(fake: State, req: IncomingMessage, res: ServerResponse): void {
  const { path, query } = parse(req);
  fake.requests.push({ server: 'datanode', path, query });
  const data = fake.files.get(path);
  if (query.op !== 'OPEN' || !data) return remoteException(res, 404, 'FileNotFoundException', `File does not exist: ${path}`);
  const cut = fake.truncate.get(path);
  if (cut !== undefined) {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    res.end(data.subarray(0, cut));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(data.length) });
  // 1 MiB writes, so a big file arrives as a stream and not one buffer.
  for (let at = 0; at < data.length; at += 1 << 20) res.write(data.subarray(at, at + (1 << 20)));
  res.end();
}

function fileStatus(type: 'FILE' | 'DIRECTORY', length: number, childrenNum: number) {
  return {
    accessTime: type === 'FILE' ? 1320171722771 : 0,
    blockSize: type === 'FILE' ? 134217728 : 0,
    childrenNum,
    fileId: 16386,
    group: 'supergroup',
    length,
    modificationTime: 1320171722771,
    owner: 'webuser',
    pathSuffix: '',
    permission: type === 'FILE' ? '644' : '755',
    replication: type === 'FILE' ? 3 : 0,
    storagePolicy: 0,
    type,
  };
}

function statusOf(files: Map<string, Buffer>, path: string): ReturnType<typeof fileStatus> | undefined {
  const data = files.get(path);
  if (data) return fileStatus('FILE', data.length, 0);
  const base = path === '/' ? '/' : `${path}/`;
  const below = [...files.keys()].filter((f) => f.startsWith(base));
  return below.length > 0 ? fileStatus('DIRECTORY', 0, new Set(below.map((f) => f.slice(base.length).split('/')[0])).size) : undefined;
}

function json(res: ServerResponse, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
}

function remoteException(res: ServerResponse, status: number, exception: string, message: string): void {
  const javaClassName = exception === 'FileNotFoundException' ? 'java.io.FileNotFoundException' : `java.lang.${exception}`;
  const text = JSON.stringify({ RemoteException: { exception, javaClassName, message } });
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(text)) }).end(text);
}
