import { describe, expect, it, vi } from 'vitest';
import { Config } from '../config/schema.ts';
import { UserError } from '../core/errors.ts';
import { createLogger } from '../core/log.ts';
import type { DomainLocks, Journal, JournalEntry, LockHolder, LockResult } from '../queue/coordination.ts';
import { JOB_OPS, type JobData, type JobMeta } from '../queue/jobs.ts';
import { HANDLERS, refuseIfRunningElsewhere } from './handlers.ts';
import { HandBack, type JobRun, type ProcessDeps, processJob } from './process.ts';
import type { DomainSummary, OperationContext, StartResult, Toolstack } from './toolstack/types.ts';

/** In-memory stand-ins for the Redis classes and a driver that records what it would send. */
class MemoryJournal {
  readonly entries = new Map<string, JournalEntry>();
  failPut = false;
  async get(id: string) {
    return this.entries.get(id) ?? null;
  }
  async put(e: JournalEntry) {
    if (this.failPut) throw new Error('Connection is closed.');
    this.entries.set(e.jobId, structuredClone(e));
  }
  async putIfAbsent(e: JournalEntry) {
    if (this.failPut) throw new Error('Connection is closed.');
    if (this.entries.has(e.jobId)) return false;
    this.entries.set(e.jobId, structuredClone(e));
    return true;
  }
  // Runs keep no beat here (no runBeat in these deps): every entry is as an agent older than beats left it.
  async beat() {}
  async endBeat() {}
  async beating() {
    return false;
  }
}

class MemoryLocks {
  readonly held = new Map<string, LockHolder>();
  async acquire(h: LockHolder): Promise<LockResult> {
    const cur = this.held.get(h.domain);
    if (cur && cur.requestId !== h.requestId) return { ok: false, holder: cur };
    this.held.set(h.domain, h);
    return { ok: true };
  }
  async renew(domain: string, requestId: string) {
    return this.held.get(domain)?.requestId === requestId;
  }
  async release(domain: string, requestId: string) {
    if (this.held.get(domain)?.requestId !== requestId) return false;
    return this.held.delete(domain);
  }
  async holder(domain: string) {
    return this.held.get(domain) ?? null;
  }
}

const dom = (name: string, status: DomainSummary['status'], uuid: string | null = null): DomainSummary => ({
  name,
  uuid,
  id: status === 'defined' ? null : 7,
  status,
  flags: status === 'defined' ? '' : '-b----',
  memoryMiB: 512,
  vcpus: 1,
  cpuSeconds: 1,
  configPath: `/etc/xen/vm/${name}.cfg`,
});

/** A driver over a fixed domain list; start() calls beforeIssue like the real one, then records the "create". */
function fakeToolstack(domains: DomainSummary[] | Error, sent: string[], onList: () => void = () => {}): Toolstack {
  const list = async () => {
    onList();
    if (domains instanceof Error) throw domains;
    return domains;
  };
  const unused = () => Promise.reject(new Error('not used'));
  return {
    kind: 'xl',
    list,
    inventory: async () => ({ domains: await list(), notes: [] }),
    info: unused,
    infoAndList: unused,
    topTable: unused,
    uptime: unused,
    uptimeTable: unused,
    show: unused,
    consoleSnapshot: unused,
    stop: unused,
    migrate: unused,
    autostart: unused,
    reboot: unused,
    pause: unused,
    async verifyStop(domain: string, options: { force: boolean; issuedAt: number }) {
      sent.push(`verify stop ${domain} issued at ${new Date(options.issuedAt).toISOString()}`);
      return { outcome: 'stopped', domain: null } as never;
    },
    verifyMigrate: unused,
    verifyAutostart: unused,
    verifyReboot: unused,
    verifyPause: unused,
    async start(domain: string, ctx?: OperationContext): Promise<StartResult> {
      const before = (await list()).find((d) => d.name === domain) ?? null;
      await ctx?.beforeIssue?.({ argv: ['xl', 'create', `/etc/xen/vm/${domain}.cfg`], before });
      sent.push(`create ${domain}`);
      return { outcome: 'started', domain: dom(domain, 'blocked', 'u-1') };
    },
    async verifyStart(domain: string): Promise<StartResult> {
      sent.push(`verify ${domain}`);
      return { outcome: 'started', domain: dom(domain, 'blocked', 'u-1'), resumed: true };
    },
  };
}

const config = Config.parse({
  hosts: {
    xen1: { address: 'a', privateKey: 'k', hostKey: `SHA256:${'a'.repeat(43)}` },
    xen2: { address: 'b', privateKey: 'k', hostKey: `SHA256:${'b'.repeat(43)}` },
  },
});

function setup(fleet: Record<string, DomainSummary[] | Error> = {}) {
  const journal = new MemoryJournal();
  const locks = new MemoryLocks();
  const sent: string[] = [];
  let stopping = false;
  let stopOnList = false;
  const deps: ProcessDeps = {
    handler: {
      config,
      toolstack: async (h) =>
        fakeToolstack(fleet[h] ?? [dom('mail', 'defined')], sent, () => {
          if (stopOnList) stopping = true;
        }),
    },
    journal: journal as unknown as Journal,
    locks: locks as unknown as DomainLocks,
    lockPolicy: { ttlMs: 1000, renewMs: 60_000 },
    logger: createLogger('silent'),
    handingBack: () => stopping,
    now: () => Date.parse('2026-01-01T12:00:10Z'),
  };
  return {
    journal,
    locks,
    sent,
    deps,
    stop: () => {
      stopping = true;
    },
    /** The agent starts stopping while the job reads the state (after it started, before it sends anything). */
    stopDuringStateCheck: () => {
      stopOnList = true;
    },
  };
}

const meta = (o: Partial<JobMeta> = {}): JobMeta => ({
  requestId: 'req-1',
  person: 'alice',
  platform: 'terminal',
  userId: 'alice',
  channelId: 'tty',
  command: 'start',
  ...o,
});
const start = (m: Partial<JobMeta> = {}): JobData => ({ op: 'domain.start', host: 'xen1', domain: 'mail', meta: meta(m) });
const run = (data: JobData, attemptsStarted = 1): JobRun => ({ id: 'job-1', attemptsStarted, data, onProgress: undefined });

describe('processJob: journal, deadline and lock around a mutation', () => {
  it('journals `issuing` (with the state read first) before sending, then `done` with the result; the lock is released', async () => {
    const t = setup();
    const result = await processJob(run(start()), t.deps);
    expect(result).toMatchObject({ host: 'xen1', outcome: 'started' });
    expect(t.sent).toEqual(['create mail']);
    expect(t.journal.entries.get('job-1')).toEqual({
      jobId: 'job-1',
      requestId: 'req-1',
      op: 'domain.start',
      host: 'xen1',
      domain: 'mail',
      before: { status: 'defined', id: null, uuid: null },
      step: 'done',
      issuedAt: Date.parse('2026-01-01T12:00:10Z'),
      resumes: 0,
      result,
    });
    expect(t.locks.held.size).toBe(0);
  });

  it('sends nothing when the journal entry cannot be written', async () => {
    const t = setup();
    t.journal.failPut = true;
    await expect(processJob(run(start()), t.deps)).rejects.toThrow(
      'the agent could not record the operation in Redis before sending it; nothing was sent',
    );
    expect(t.sent).toEqual([]);
  });

  it("sends nothing when another run of the same job wrote its entry first (a lapsed BullMQ lock), and answers with that run's result", async () => {
    const t = anotherRunWritesFirst(setup());
    // …and records its result a little later: this run, which holds the job now, answers with it.
    const stored = { host: 'xen1', outcome: 'started', domain: dom('mail', 'blocked') };
    setTimeout(() => void t.journal.put({ ...entry('issuing'), step: 'done', result: stored }), 50);
    expect(await processJob(run(start()), t.deps)).toEqual(stored);
    expect(t.sent).toEqual([]);
  });

  it('verifies the state when the other run never records an end (it died after writing its entry)', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'Date'] });
    try {
      const t = anotherRunWritesFirst(setup());
      const done = processJob(run(start()), t.deps);
      await vi.advanceTimersByTimeAsync(3 * 60_000 + 1_000);
      expect(await done).toMatchObject({ outcome: 'started', resumed: true });
      expect(t.sent).toEqual(['verify mail']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('returns the stored result of a `done` entry without touching the host', async () => {
    const t = setup();
    const stored = { host: 'xen1', outcome: 'started', domain: dom('mail', 'blocked') };
    await t.journal.put({ ...entry('issuing'), step: 'done', result: stored });
    expect(await processJob(run(start(), 2), t.deps)).toEqual(stored);
    expect(t.sent).toEqual([]);
  });

  it('verifies instead of sending again when it finds `issuing`, counting the resume', async () => {
    const t = setup();
    await t.journal.put(entry('issuing'));
    expect(await processJob(run(start(), 2), t.deps)).toMatchObject({ outcome: 'started', resumed: true });
    expect(t.sent).toEqual(['verify mail']);
    expect(t.journal.entries.get('job-1')).toMatchObject({ step: 'done', resumes: 1 });
  });

  it("hands a resumed job's issue time to the driver on this machine's clock; the journal keeps the shared one", async () => {
    const t = setup();
    // Journaled by an agent on another machine, on Redis's clock; this machine's runs two minutes behind it.
    await t.journal.put({ ...entry('issuing'), op: 'domain.stop' });
    t.deps.toLocal = (ms) => ms - 120_000;
    const stop: JobData = { op: 'domain.stop', host: 'xen1', domain: 'mail', force: false, meta: meta({ command: 'stop' }) };
    await processJob(run(stop, 2), t.deps);
    expect(t.sent).toEqual(['verify stop mail issued at 2026-01-01T11:58:05.000Z']);
    expect(t.journal.entries.get('job-1')).toMatchObject({ step: 'done', issuedAt: Date.parse('2026-01-01T12:00:05Z') });
  });

  it('withdraws a job first picked up after its deadline, touching nothing', async () => {
    const t = setup();
    const error = await processJob(run(start({ notAfter: Date.parse('2026-01-01T12:00:03Z') })), t.deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UserError);
    expect((error as UserError).code).toBe('withdrawn');
    expect((error as UserError).message).toBe(
      '/start mail on xen1 was not picked up by 12:00:03 UTC: withdrawn — nothing was done, and it will not run later',
    );
    expect(t.sent).toEqual([]);
  });

  it('withdraws a job picked up again long after its deadline that never sent anything', async () => {
    const t = setup();
    const error = await processJob(run(start({ notAfter: Date.parse('2026-01-01T11:58:00Z') }), 2), t.deps).catch((e: unknown) => e);
    expect((error as UserError).code).toBe('withdrawn');
    expect((error as UserError).message).toBe(
      '/start mail on xen1 was not picked up by 11:59:00 UTC: withdrawn — nothing was done, and it will not run later',
    );
    expect(t.sent).toEqual([]);
  });

  it('lets a job picked up again (attemptsStarted 2) run past its deadline: the deadline binds the first pickup', async () => {
    const t = setup();
    await processJob(run(start({ notAfter: Date.parse('2026-01-01T12:00:03Z') }), 2), t.deps);
    expect(t.sent).toEqual(['create mail']);
  });

  it('refuses when another request holds the lock, naming it, touching nothing; a resumed job verifies anyway', async () => {
    const t = setup();
    const bob: LockHolder = {
      requestId: 'req-bob',
      person: 'bob',
      command: 'stop',
      host: 'xen1',
      domain: 'mail',
      reason: 'stop --force',
      since: Date.parse('2026-01-01T12:00:03Z'),
    };
    t.locks.held.set('mail', bob);
    const error = await processJob(run(start()), t.deps).catch((e: unknown) => e);
    expect((error as UserError).code).toBe('locked');
    expect((error as UserError).message).toBe(
      "mail is busy: bob's stop --force (request req-bob, since 12:00:03 UTC); try again when it finishes",
    );
    expect(t.sent).toEqual([]);
    await t.journal.put(entry('issuing'));
    expect(await processJob(run(start(), 2), t.deps)).toMatchObject({ resumed: true });
    expect(t.locks.held.get('mail')).toEqual(bob);
  });

  it('while the agent stops, hands a job back before it starts: nothing read, sent or journaled, no lock taken', async () => {
    const t = setup();
    t.stop();
    await expect(processJob(run(start()), t.deps)).rejects.toBeInstanceOf(HandBack);
    expect(t.sent).toEqual([]);
    expect(t.journal.entries.size).toBe(0);
    expect(t.locks.held.size).toBe(0);
  });

  it('when the agent starts stopping during the state check, hands the job back before sending, keeping its lock', async () => {
    const t = setup();
    t.stopDuringStateCheck();
    await expect(processJob(run(start()), t.deps)).rejects.toBeInstanceOf(HandBack);
    expect(t.sent).toEqual([]);
    expect(t.journal.entries.size).toBe(0);
    expect(t.locks.held.get('mail')).toMatchObject({ requestId: 'req-1', reason: 'start on xen1' });
  });

  it('still withdraws a late job and returns a stored result while stopping (neither touches a host)', async () => {
    const t = setup();
    t.stop();
    await expect(processJob(run(start({ notAfter: Date.parse('2026-01-01T12:00:03Z') })), t.deps)).rejects.toMatchObject({
      code: 'withdrawn',
    });
    const stored = { host: 'xen1', outcome: 'started', domain: dom('mail', 'blocked') };
    await t.journal.put({ ...entry('issuing'), step: 'done', result: stored });
    expect(await processJob(run(start(), 2), t.deps)).toEqual(stored);
  });
});

describe('fleet-wide running-once (refuseIfRunningElsewhere)', () => {
  const check = (fleet: Record<string, DomainSummary[] | Error>, local: DomainSummary | null = null) =>
    refuseIfRunningElsewhere('mail', 'xen1', local, {
      config,
      toolstack: async (h) => fakeToolstack(fleet[h] ?? [], []),
      op: {},
    }).catch((e: unknown) => (e instanceof UserError ? [e.code, e.message] : e));

  it.each([
    ['by name (no UUIDs: xm, or a defined-only local domain)', [dom('mail', 'blocked')], null],
    ['by UUID when both sides report one', [dom('mail', 'running', 'u-1')], dom('mail', 'blocked', 'u-1')],
    ['mid-migration on the other host (xl’s temporary name)', [dom('mail--incoming', 'paused')], null],
    ['crashed but present', [dom('mail', 'crashed')], null],
  ])('refuses when it runs elsewhere: %s', async (_case, other, local) => {
    expect(await check({ xen2: other }, local)).toEqual([
      'domain.elsewhere',
      'mail is running on xen2 — starting it on xen1 would run it twice',
    ]);
  });

  it('allows a same-named domain with another UUID, and one only defined elsewhere', async () => {
    expect(await check({ xen2: [dom('mail', 'running', 'u-2')] }, dom('mail', 'blocked', 'u-1'))).toBeUndefined();
    expect(await check({ xen2: [dom('mail', 'defined')] })).toBeUndefined();
  });

  it('refuses when another host cannot be read, naming it', async () => {
    expect(await check({ xen2: new Error('cannot connect') })).toEqual([
      'domain.elsewhere',
      'cannot confirm mail is not running on xen2 (unreachable): not starting it',
    ]);
  });
});

describe('the handler table', () => {
  it('has exactly one handler per job op', () => {
    expect(Object.keys(HANDLERS).sort()).toEqual([...JOB_OPS].sort());
  });
});

function entry(step: 'issuing' | 'done'): JournalEntry {
  return {
    jobId: 'job-1',
    requestId: 'req-1',
    op: 'domain.start',
    host: 'xen1',
    domain: 'mail',
    before: { status: 'defined', id: null, uuid: null },
    step,
    issuedAt: Date.parse('2026-01-01T12:00:05Z'),
    resumes: 0,
  };
}

/** Another run of the same job writes its journal entry between this run's journal read and its send. */
function anotherRunWritesFirst<T extends ReturnType<typeof setup>>(t: T): T {
  const original = t.journal.get.bind(t.journal);
  let reads = 0;
  t.journal.get = async (id: string) => {
    const r = await original(id);
    if (++reads === 1) await t.journal.put(entry('issuing'));
    return r;
  };
  return t;
}
