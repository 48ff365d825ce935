import type {
  CrashRequest,
  DomainCrashed,
  FaultCreated,
  FaultInfo,
  FaultRequest,
  HostDown,
  HostUp,
  SimLogPage,
  SimStateJson,
} from './control-api.ts';

/**
 * A typed client for the simulator's control interface (`xenops sim` prints its URL and writes it to sim.env as
 * XENOPS_SIM_CONTROL_URL). Regular expressions may be given as RegExp (their source is sent; flags are not).
 */

export class SimControlError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly body: unknown,
  ) {
    super(message);
  }
}

export interface LogParams {
  host?: string;
  /** Only entries with seq greater than this (e.g. a page's lastSeq taken before acting). */
  since?: number;
  match?: string | RegExp;
  /** Only commands that have ended (exited, lost their client, or were dropped). */
  ended?: boolean;
}

export interface WaitParams extends LogParams {
  /** How many matching commands to wait for (default 1). */
  count?: number;
  /** Server-side timeout (default 10 s); 408 → SimControlError with status 408. */
  timeoutMs?: number;
}

export type FaultParams = Omit<FaultRequest, 'match'> & { match?: string | RegExp };

export class SimControlClient {
  readonly baseUrl: string;

  constructor(baseUrl: string) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
  }

  state(): Promise<SimStateJson> {
    return this.call('GET', '/state');
  }

  log(params: LogParams = {}): Promise<SimLogPage> {
    return this.call('GET', `/log${query(params)}`);
  }

  /** Long-polls until at least `count` matching commands have been received (or have ended, with `ended`). */
  waitForLog(params: WaitParams = {}): Promise<SimLogPage> {
    return this.call('GET', `/log/wait${query(params)}`);
  }

  faults(): Promise<FaultInfo[]> {
    return this.call<{ faults: FaultInfo[] }>('GET', '/faults').then((r) => r.faults);
  }

  addFault(fault: FaultParams): Promise<FaultCreated> {
    const { match, ...rest } = fault;
    return this.call('POST', '/faults', { ...rest, ...(match === undefined ? {} : { match: source(match) }) });
  }

  deleteFault(id: string): Promise<{ deleted: string }> {
    return this.call('DELETE', `/faults/${encodeURIComponent(id)}`);
  }

  clearFaults(): Promise<{ cleared: number }> {
    return this.call('DELETE', '/faults');
  }

  dropConnections(host: string): Promise<{ host: string; dropped: number }> {
    return this.call('POST', `/hosts/${encodeURIComponent(host)}/drop-connections`);
  }

  /** Takes the host off the network: its live connections are cut and new ones refused until hostUp (or clearFaults). */
  hostDown(host: string): Promise<HostDown> {
    return this.call('POST', `/hosts/${encodeURIComponent(host)}/down`);
  }

  hostUp(host: string): Promise<HostUp> {
    return this.call('POST', `/hosts/${encodeURIComponent(host)}/up`);
  }

  /** The running guest panics now and ends as `onCrash` says (default preserve); 409 when it is not running. */
  crashDomain(host: string, domain: string, request: CrashRequest = {}): Promise<DomainCrashed> {
    return this.call('POST', `/hosts/${encodeURIComponent(host)}/domains/${encodeURIComponent(domain)}/crash`, request);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = text;
    }
    if (!res.ok) {
      const message = (parsed as { error?: unknown } | null)?.error;
      throw new SimControlError(
        res.status,
        `${method} ${path}: ${res.status} ${typeof message === 'string' ? message : res.statusText}`,
        parsed,
      );
    }
    return parsed as T;
  }
}

function source(match: string | RegExp): string {
  return typeof match === 'string' ? match : match.source;
}

function query(params: WaitParams): string {
  const q = new URLSearchParams();
  if (params.host !== undefined) q.set('host', params.host);
  if (params.since !== undefined) q.set('since', String(params.since));
  if (params.match !== undefined) q.set('match', source(params.match));
  if (params.ended) q.set('ended', '1');
  if (params.count !== undefined) q.set('count', String(params.count));
  if (params.timeoutMs !== undefined) q.set('timeoutMs', String(params.timeoutMs));
  const s = q.toString();
  return s ? `?${s}` : '';
}
