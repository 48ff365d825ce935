import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import type { DomainCrashed, FaultCreated, HostDown, HostUp, SimLogPage, SimStateJson } from './control-api.ts';
import { type FaultInfo, type FaultSpec, type OnCrash, SimConflictError, UnknownSimDomainError, UnknownSimHostError } from './faults.ts';
import { type CommandLog, type LogQuery, LogWaitTimeout } from './log.ts';

/**
 * The simulator's control interface: HTTP + JSON on 127.0.0.1 (node:http, no framework), so tests and people can
 * inspect the fleet, read and await the command log, and arm faults in a simulator running as its own process.
 *
 *   GET    /state                               hosts, domains (name, id, uuid, flags, status, memory, vcpus), free memory
 *   GET    /log?host=&since=&match=&ended=      commands received: { entries: [{ seq, host, at, command, … }], lastSeq }
 *   GET    /log/wait?host=&match=&count=&since=&timeoutMs=&ended=
 *                                               answers once ≥ count matching commands exist; 408 after timeoutMs
 *   GET    /faults                              armed faults
 *   POST   /faults                              { host, kind, match?, ms?, code?, stderr?, afterEffect?, onCrash?,
 *                                                 times? } → { id, fault }
 *   DELETE /faults                              disarms all (original host keys come back, hosts down come up)
 *   DELETE /faults/ID                           disarms one
 *   POST   /hosts/HOST/drop-connections         cuts every live SSH connection to HOST → { dropped }
 *   POST   /hosts/HOST/down                     HOST leaves the network: live connections cut, new ones refused (its
 *                                                port closed) until /up or DELETE /faults → { host, down, dropped }
 *   POST   /hosts/HOST/up                       HOST listens again on its port → { host, down }
 *   POST   /hosts/HOST/domains/NAME/crash       { onCrash? } the running guest panics now → { host, domain, onCrash,
 *                                                status }; 409 when it is not running
 */

/** What the control interface drives: a started simulator satisfies it. */
export interface SimControlTarget {
  log: CommandLog;
  state(): SimStateJson;
  faults: {
    add(host: string, spec: FaultSpec): Promise<FaultInfo>;
    list(): FaultInfo[];
    remove(id: string): Promise<boolean>;
    clearAll(): Promise<void>;
    dropConnections(host: string): number;
    hostDown(host: string): Promise<number>;
    hostUp(host: string): Promise<void>;
    crashDomain(host: string, domain: string, onCrash?: OnCrash): void;
  };
}

export interface ControlServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_WAIT_MS = 10_000;
const MAX_WAIT_MS = 600_000;
const MAX_BODY = 64 * 1024;

const FaultBody = z.strictObject({
  host: z.string().min(1),
  kind: z.enum(['delay', 'hang', 'drop', 'fail', 'hostKey', 'crashOnArrival']),
  match: z.string().optional(),
  ms: z.number().int().min(0).max(MAX_WAIT_MS).optional(),
  code: z.number().int().min(0).max(255).optional(),
  stderr: z.string().optional(),
  afterEffect: z.boolean().optional(),
  onCrash: z.enum(['preserve', 'destroy']).optional(),
  times: z.number().int().min(0).optional(),
});

const CrashBody = z.strictObject({ onCrash: z.enum(['preserve', 'destroy']).optional() });

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export async function startControlServer(sim: SimControlTarget, port = 0): Promise<ControlServer> {
  const hostNames = () => Object.keys(sim.state().hosts);
  const knownHost = (host: string | undefined) => {
    if (host !== undefined && !hostNames().includes(host)) throw new HttpError(404, `no simulated host ${host}`);
    return host;
  };
  let listeningPort = port;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<unknown> => {
    // Only loopback names: a web page cannot reach this through DNS rebinding.
    const hostHeader = req.headers.host ?? '';
    if (hostHeader !== `127.0.0.1:${listeningPort}` && hostHeader !== `localhost:${listeningPort}`)
      throw new HttpError(403, 'requests must be addressed to 127.0.0.1 or localhost');
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${listeningPort}`);
    const path = url.pathname.replace(/\/+$/, '') || '/';
    const method = req.method ?? 'GET';
    const route = `${method} ${path}`;

    if (route === 'GET /') {
      return {
        endpoints: [
          'GET /state',
          'GET /log?host=&since=&match=&ended=',
          'GET /log/wait?host=&match=&count=&since=&timeoutMs=&ended=',
          'GET /faults',
          'POST /faults',
          'DELETE /faults',
          'DELETE /faults/ID',
          'POST /hosts/HOST/drop-connections',
          'POST /hosts/HOST/down',
          'POST /hosts/HOST/up',
          'POST /hosts/HOST/domains/NAME/crash',
        ],
      };
    }
    if (route === 'GET /state') return sim.state();
    if (route === 'GET /log') return { entries: sim.log.query(logQuery(url, knownHost)), lastSeq: sim.log.lastSeq } satisfies SimLogPage;
    if (route === 'GET /log/wait') {
      const q = logQuery(url, knownHost);
      const count = intParam(url, 'count', 1, 1, Number.MAX_SAFE_INTEGER);
      const timeoutMs = intParam(url, 'timeoutMs', DEFAULT_WAIT_MS, 0, MAX_WAIT_MS);
      // The waiter goes away with the HTTP client.
      const gone = new AbortController();
      res.on('close', () => gone.abort());
      try {
        const entries = await sim.log.waitFor({ ...q, count, timeoutMs, signal: gone.signal });
        return { entries, lastSeq: sim.log.lastSeq } satisfies SimLogPage;
      } catch (error) {
        if (error instanceof LogWaitTimeout)
          throw new HttpError(408, error.message, { entries: error.entries, lastSeq: sim.log.lastSeq } satisfies SimLogPage);
        throw error;
      }
    }
    if (route === 'GET /faults') return { faults: sim.faults.list() };
    if (route === 'POST /faults') {
      const parsed = FaultBody.safeParse(await readJson(req));
      if (!parsed.success)
        throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      const body = parsed.data;
      knownHost(body.host);
      if (body.kind === 'delay' && body.ms === undefined) throw new HttpError(400, 'ms: a delay fault needs ms');
      const fault = await sim.faults.add(body.host, {
        kind: body.kind,
        match: body.match === undefined ? undefined : compile(body.match, 'match'),
        ms: body.ms,
        code: body.code,
        stderr: body.stderr,
        afterEffect: body.afterEffect,
        onCrash: body.onCrash,
        times: body.times,
      });
      res.statusCode = 201;
      return { id: fault.id, fault } satisfies FaultCreated;
    }
    if (route === 'DELETE /faults') {
      const cleared = sim.faults.list().length;
      await sim.faults.clearAll();
      return { cleared };
    }
    const one = /^\/faults\/([A-Za-z0-9_-]+)$/.exec(path);
    if (one?.[1] && method === 'DELETE') {
      if (!(await sim.faults.remove(one[1]))) throw new HttpError(404, `no fault ${one[1]}`);
      return { deleted: one[1] };
    }
    const drop = /^\/hosts\/([^/]+)\/drop-connections$/.exec(path);
    if (drop?.[1] && method === 'POST') {
      const host = decodeURIComponent(drop[1]);
      knownHost(host);
      return { host, dropped: sim.faults.dropConnections(host) };
    }
    const power = /^\/hosts\/([^/]+)\/(down|up)$/.exec(path);
    if (power?.[1] && method === 'POST') {
      const host = decodeURIComponent(power[1]);
      knownHost(host);
      if (power[2] === 'up') {
        await sim.faults.hostUp(host);
        return { host, down: false } satisfies HostUp;
      }
      return { host, down: true, dropped: await sim.faults.hostDown(host) } satisfies HostDown;
    }
    const crash = /^\/hosts\/([^/]+)\/domains\/([^/]+)\/crash$/.exec(path);
    if (crash?.[1] && crash[2] && method === 'POST') {
      const host = decodeURIComponent(crash[1]);
      const domain = decodeURIComponent(crash[2]);
      knownHost(host);
      // No body is the same as {}: preserve.
      const parsed = CrashBody.safeParse((await readJson(req)) ?? {});
      if (!parsed.success)
        throw new HttpError(400, parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
      const onCrash = parsed.data.onCrash ?? 'preserve';
      sim.faults.crashDomain(host, domain, onCrash);
      return { host, domain, onCrash, status: onCrash === 'destroy' ? 'destroyed' : 'crashed' } satisfies DomainCrashed;
    }
    const known = ['/', '/state', '/log', '/log/wait', '/faults'].includes(path) || one || drop || power || crash;
    throw new HttpError(known ? 405 : 404, known ? `${method} not allowed on ${path}` : `no such endpoint ${path}`);
  };

  const server = createServer((req, res) => {
    handle(req, res).then(
      (body) => send(res, res.statusCode, body),
      (error: unknown) => {
        if (error instanceof HttpError) send(res, error.status, { error: error.message, ...error.extra });
        else if (error instanceof UnknownSimHostError || error instanceof UnknownSimDomainError) send(res, 404, { error: error.message });
        else if (error instanceof SimConflictError) send(res, 409, { error: error.message });
        else if (res.destroyed || res.writableEnded) return;
        else send(res, 500, { error: error instanceof Error ? error.message : String(error) });
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  listeningPort = typeof address === 'object' && address ? address.port : port;
  return {
    url: `http://127.0.0.1:${listeningPort}`,
    port: listeningPort,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Long polls would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(text);
}

function compile(source: string, name: string): RegExp {
  try {
    return new RegExp(source);
  } catch (error) {
    throw new HttpError(400, `${name}: not a valid regular expression (${(error as Error).message})`);
  }
}

function intParam(url: URL, name: string, fallback: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new HttpError(400, `${name}: expected a whole number from ${min} to ${max}`);
  return n;
}

function logQuery(url: URL, knownHost: (host: string | undefined) => string | undefined): LogQuery {
  const match = url.searchParams.get('match');
  const ended = url.searchParams.get('ended');
  return {
    host: knownHost(url.searchParams.get('host') || undefined),
    since: intParam(url, 'since', 0, 0, Number.MAX_SAFE_INTEGER),
    match: match ? compile(match, 'match') : undefined,
    ended: ended === '1' || ended === 'true',
  };
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY) throw new HttpError(413, 'body too large');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text || 'null');
  } catch {
    throw new HttpError(400, 'body: not JSON');
  }
}
