import { randomUUID } from 'node:crypto';
import { closeSync, createReadStream, fstatSync, mkdirSync, openSync, statSync, writeSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { LocalContext } from '../core/define-command.ts';
import { Drain } from '../core/drain.ts';
import { type Logger, redactSecrets } from '../core/log.ts';
import { withTimeout } from '../core/with-timeout.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
import { RedisScript } from '../queue/redis-script.ts';
import { type ChainRecord, type ChainReport, ChainVerifier, fieldText, GENESIS, parseLine, pushLine, seal } from './audit-chain.ts';

export type AuditEvent = 'request' | 'decision' | 'job.start' | 'job.outcome' | 'approval';

/** What an entry is about. A migration's `target` host counts as a host it touches. */
export interface AuditTarget {
  host: string;
  domain?: string;
  target?: string;
}

/** One line of the audit trail: who (person and platform identity), where, what, and what came of it. */
export interface AuditEntry {
  event: AuditEvent;
  requestId: string;
  person: string | null;
  /**
   * Who decided what the entry records, when not `person`: the approver (or one refused) of `person`'s request, the
   * requester withdrawing it. Absent in entries written before it was (there the decider is only in `detail`).
   */
  by?: string;
  platform: string;
  userId: string;
  channelId: string;
  command: string;
  args?: string;
  decision?: 'allowed' | 'rejected' | 'needsApproval';
  /** Hosts the entry is about, comma-separated (also filled from `targets`). */
  host?: string;
  /** Domains the entry is about, comma-separated (also filled from `targets`). */
  domain?: string;
  /** Not written as such: its hosts and domains become the `host` and `domain` fields /audit filters on. */
  targets?: readonly AuditTarget[];
  jobId?: string;
  detail?: string;
  durationMs?: number;
}

/** What /audit asks for: the newest `n` entries matching every given filter (`since`: epoch ms). */
export type AuditQuery = Parameters<LocalContext['readAudit']>[0];
/** `visible`: the entries the asker may read (a scoped audit.read sees nothing about hosts outside its scope). */
export type ScopedAuditQuery = AuditQuery & { visible?: (entry: Readonly<Record<string, string>>) => boolean };
export type AuditPage = Awaited<ReturnType<LocalContext['readAudit']>>;

/** Entries a filtered /audit reads at most before it answers with what it found. */
export const AUDIT_MAX_SCAN = 5_000;
const PAGE = 500;
/**
 * The stream is bounded by its ids (Redis's clock); entries' `ts` is the bot's shared clock (Redis's too, read every
 * 30 s), but entries written before its first reading, or by an older xenops, are on the bot's own: they may run this
 * far ahead.
 */
const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * A stream value is cut at this many characters (a chat message's size): the stream is what /audit reads and what
 * Redis holds in memory; the file always has the whole entry. Not `host` and `domain`: /audit and a scoped
 * audit.read match on every name in them, and they only hold names from the config and the fleet (a /freeze all on
 * 1,000 hosts is about 7,000 characters), never text a user typed.
 */
export const STREAM_VALUE_MAX = 4_000;
const UNCUT = new Set(['host', 'domain']);

/** Entries sent to Redis in one script call at most (a backlog after an outage goes in several). */
const STREAM_BATCH = 200;
/** A script call not answered within this is given up (its batch is kept and sent again, applied at most once). */
const STREAM_CALL_TIMEOUT_MS = 10_000;
/** Attempts of one batch that find another writer moved the head first; each means another bot's entry went in. */
const MAX_CHAIN_RACES = 50;
/**
 * After a failed send, kept entries are tried again after this long, doubling up to the maximum: Redis may refuse a
 * write yet keep the connection (maxmemory, MISCONF, READONLY, a busy script), and no reconnect then says it is back.
 */
const STREAM_RETRY_MIN_MS = 1_000;
const STREAM_RETRY_MAX_MS = 30_000;

/**
 * Appends a batch of entries to the stream and moves the chain head, atomically, if the head is still the one the
 * batch was chained to (ARGV[3]); otherwise appends nothing and returns the head as it is, so the writer chains the
 * batch again (optimistic: any number of bots writing one stream keep one valid chain). The hashes are computed by
 * the writer (src/app/audit-chain.ts, node:crypto): hashing inside Redis (Lua, SHA-256 by hand) cost ~1 ms of
 * Redis's only thread per entry, four entries per /list. The script only checks that each entry names the hash
 * before it. When the head key is missing, the chain goes on from the stream's last entry (or GENESIS).
 *
 * A batch is applied once: its id is kept for a day (KEYS[3]), so a batch sent again after a call that did not
 * answer in time (and may have run) is not appended twice.
 *
 * KEYS: stream, head, batch id. ARGV: MAXLEN, GENESIS, expected head, then per entry: its field count n, then n
 * field/value pairs ending with `prev`, PREV, `hash`, HASH. Returns {1, new head}, {0, current head} or, for a
 * batch applied before, {2, current head}.
 */
const APPEND = new RedisScript(`
local prev = redis.call('GET', KEYS[2])
if not prev then
  prev = ARGV[2]
  local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
  if last then
    for i = 1, #last[2], 2 do
      if last[2][i] == 'hash' then prev = last[2][i + 1] end
    end
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {2, prev} end
if prev ~= ARGV[3] then return {0, prev} end
local i = 4
while i <= #ARGV do
  local n = tonumber(ARGV[i])
  local xadd = {KEYS[1], 'MAXLEN', '~', ARGV[1], '*'}
  for j = i + 1, i + 2 * n do xadd[#xadd + 1] = ARGV[j] end
  local last = i + 2 * n
  if ARGV[last - 3] ~= 'prev' or ARGV[last - 2] ~= prev or ARGV[last - 1] ~= 'hash' then
    return redis.error_reply('audit entry not chained to the head')
  end
  redis.call('XADD', unpack(xadd))
  prev = ARGV[last]
  i = last + 1
end
redis.call('SET', KEYS[2], prev)
redis.call('SET', KEYS[3], '1', 'EX', 86400)
return {1, prev}
`);

interface FileHead {
  hash: string;
  size: number;
  /** The file does not end with a newline (a line cut short): the next entry starts on a line of its own. */
  needsNewline: boolean;
}

/**
 * Appends to a Redis stream (queried by /audit) and a JSONL file (kept by the operator), each a hash chain of its
 * own (see audit-chain.ts; `xenops audit verify` checks both). The file is written whatever Redis does; entries
 * Redis could not take are kept in order and appended to the stream, chained there, when it is back.
 *
 * The file chain goes on across restarts (the last entry's hash is read back) and across processes taking turns
 * (the file's size is checked before each append). Two processes appending to one file at the same instant would
 * fork it, which verification reports: give each bot its own `audit.file`; the stream is the shared record.
 */
export class AuditLog {
  /** The file has been opened before: a directory made again since means it was removed under us. */
  private fileOpened = false;
  /** Entries not in the stream yet, oldest first: being sent, or kept while Redis is unreachable. */
  private readonly backlog: { fields: [string, string][]; resolve: () => void }[] = [];
  /** One script call at a time; entries that arrive meanwhile go in the next (see Drain for why not `busy ??=`). */
  private readonly streamWriter = new Drain(
    () => this.sendBacklog(),
    () => this.backlog.length > 0 && (!this.streamStalled || this.probing) && this.redis.status === 'ready',
  );
  /**
   * A send failed: later entries wait behind the kept ones, and no append waits for the stream, until a retry (timer,
   * /audit) or flush() (Redis is back) gets them all in.
   */
  private streamStalled = false;
  /** A retry while stalled is under way: it may send, though appends still do not wait for it. */
  private probing = false;
  private retryTimer: NodeJS.Timeout | null = null;
  /** Kept entries that gave way to newer ones since the stream last caught up: they are only in the file. */
  private streamDropped = 0;
  private retryDelayMs = STREAM_RETRY_MIN_MS;
  private closed = false;
  /** The stream's chain head as this bot last saw it (null: not known yet, the first send learns it). */
  private streamHead: string | null = null;
  /** The batch being sent (the oldest `count` entries) and its id, until it is known to be in the stream. */
  private sending: { id: string; count: number } | null = null;
  private readonly callTimeoutMs: number;
  /** How long entries gather before a script call takes them (0: at once). */
  private readonly lingerMs: number;
  private lingering: NodeJS.Timeout | null = null;
  private readonly fileBacklog: { record: ChainRecord; resolve: () => void }[] = [];
  /** Entries a failed write left out of the file, oldest first: written before newer ones at the next write. */
  private readonly fileKept: ChainRecord[] = [];
  private readonly fileWriter = new Drain(
    () => this.drainFile(),
    () => this.fileBacklog.length > 0,
  );
  private fileHead: FileHead | null = null;
  /** The audit file, opened once for appending (reopened when it was rotated or removed under us). */
  private handle: { fd: number; ino: number } | null = null;
  private readonly headKey: string;
  private readonly maxScan: number;
  private readonly now: () => number;
  private static readonly MAX_BACKLOG = 10_000;
  /** Told of each entry as it is appended (see onAppend). */
  private readonly watchers = new Set<(entry: AuditEntry) => void>();

  constructor(
    private readonly redis: RedisClient,
    private readonly streamKey: string,
    private readonly file: string,
    private readonly maxLen: number,
    private readonly logger: Logger,
    options: { maxScan?: number; now?: () => number; callTimeoutMs?: number; lingerMs?: number } = {},
  ) {
    // Under the stream's own hash tag: one Redis Cluster slot, so the script may touch both.
    this.headKey = `${streamKey}:head`;
    this.maxScan = options.maxScan ?? AUDIT_MAX_SCAN;
    this.now = options.now ?? Date.now;
    this.callTimeoutMs = options.callTimeoutMs ?? STREAM_CALL_TIMEOUT_MS;
    this.lingerMs = options.lingerMs ?? 0;
  }

  /**
   * Writes an entry to the file (at once) and to the stream. With a linger, the stream's copy waits up to that long
   * to go in one script call with the entries made meanwhile, and the promise does not wait for it: a /list made
   * four script calls (its request, decision, start and outcome), a fifth of the bot's CPU when commands come one
   * at a time. `now`: the stream's copy goes at once, with whatever was gathering, and is waited for — for what must
   * be on record before it runs (a mutation's request).
   */
  async append(entry: AuditEntry, options: { now?: boolean } = {}): Promise<void> {
    for (const watch of this.watchers) watch(entry);
    const record = toRecord(entry, this.now());
    const fields = Object.entries(record).flatMap(([k, v]): [string, string][] =>
      v === undefined || v === null ? [] : [[k, UNCUT.has(k) ? fieldText(v) : streamValue(fieldText(v))]],
    );
    // The audit must never take the bot down: failures are logged, the request goes on.
    await Promise.all([this.toStream(fields, options.now === true || this.lingerMs === 0), this.toFile(record)]);
  }

  /**
   * Calls `fn` with each entry appended until the returned function is called: a request learns whether what it ran
   * put its refusal on record itself (the on-call store and the approval desk record theirs).
   */
  onAppend(fn: (entry: AuditEntry) => void): () => void {
    this.watchers.add(fn);
    return () => this.watchers.delete(fn);
  }

  /** Entries waiting for Redis. */
  get pending(): number {
    return this.backlog.length;
  }

  /**
   * Entries for the file are chained and written in batches: whatever arrived while one write was in flight goes out
   * in the next single append (a group commit), so a busy bot pays one stat and one write per batch, not per entry.
   * Each entry still names the one written just before it.
   */
  private toFile(record: ChainRecord): Promise<void> {
    return new Promise((resolve) => {
      this.fileBacklog.push({ record, resolve });
      void this.fileWriter.kick();
    });
  }

  /**
   * The file's appends are synchronous (as pino writes its logs): a stat and a write of a few hundred bytes each, where
   * the promise API cost a thread-pool round trip per call — about a millisecond of the bot's CPU per /list. Only the
   * rare re-read of the file's last entry (first append, rotation, another writer) is asynchronous.
   */
  private async drainFile(): Promise<void> {
    // After the macrotask that appended: a request's job is queued first (its MULTI is written within the same task,
    // behind a few awaits that would otherwise let this write and its stat go first), and entries appended meanwhile
    // go out in the same write.
    await new Promise<void>((resolve) => setImmediate(resolve));
    do {
      const batch = this.fileBacklog.splice(0);
      const records = [...this.fileKept.splice(0), ...batch.map((e) => e.record)];
      const written = await this.writeFile(records);
      if (written < records.length) this.keepForFile(records.slice(written));
      // A kept entry's append is over too: the request does not wait for the disk to come back.
      for (const { resolve } of batch) resolve();
    } while (this.fileBacklog.length > 0);
  }

  /** Chains and appends the records in one write; returns how many are whole in the file (all, unless it failed). */
  private async writeFile(records: readonly ChainRecord[]): Promise<number> {
    let written = 0;
    try {
      const st = statSync(this.file, { throwIfNoEntry: false });
      const now = st ? { size: st.size, ino: st.ino } : { size: 0, ino: -1 };
      // Rotated or removed: the handle points at the old file.
      if (this.handle && this.handle.ino !== now.ino) this.closeFile();
      // First append, or the file changed under us (another process, rotation): read its last entry again.
      if (this.fileHead?.size !== now.size) this.fileHead = await readFileHead(this.file);
      const start = this.fileHead.size;
      let head: FileHead = this.fileHead;
      let text = '';
      const ends: number[] = [];
      for (const record of records) {
        const sealed = seal(record, head.hash);
        const line = `${head.needsNewline ? '\n' : ''}${jsonLine(sealed)}\n`;
        text += line;
        head = { hash: sealed.hash, size: head.size + Buffer.byteLength(line), needsNewline: false };
        ends.push(head.size - start);
      }
      if (!this.handle) {
        // Made again when it was removed under us (an operator cleaning var/, a tmpfs remounted): the file starts anew.
        const made = mkdirSync(dirname(this.file), { recursive: true });
        if (made !== undefined && this.fileOpened) this.logger.warn({ dir: made }, 'audit directory was removed; made it again');
        const fd = openSync(this.file, 'a');
        this.handle = { fd, ino: fstatSync(fd).ino };
        this.fileOpened = true;
      }
      const bytes = Buffer.from(text, 'utf8');
      let off = 0;
      try {
        while (off < bytes.length) off += writeSync(this.handle.fd, bytes, off);
      } finally {
        // Lines written whole are in the file (a line cut short is skipped when the file's head is read again).
        written = ends.filter((end) => end <= off).length;
      }
      this.fileHead = head;
    } catch (e) {
      this.fileHead = null;
      this.closeFile();
      this.logger.error({ err: String(e), kept: records.length - written }, 'audit file append failed; kept for the next append');
    }
    return written;
  }

  /** Keeps what a failed write left out, up to a bound (the oldest give way, counted in the log). */
  private keepForFile(records: readonly ChainRecord[]): void {
    this.fileKept.push(...records);
    const over = this.fileKept.length - AuditLog.MAX_BACKLOG;
    if (over > 0) {
      this.fileKept.splice(0, over);
      this.logger.error({ dropped: over }, 'audit entries dropped from the file: it could not be written for too long');
    }
  }

  private closeFile(): void {
    const h = this.handle;
    this.handle = null;
    if (h)
      try {
        closeSync(h.fd);
      } catch {
        // already closed
      }
  }

  /** Sends what is gathering, waits for the appends under way (a script call in flight, the file's), closes the file. */
  async close(): Promise<void> {
    this.closed = true;
    this.stopRetrying();
    await this.sendGathered();
    await this.streamWriter.current;
    // Kept in memory only: no later flush will send them.
    if (this.backlog.length > 0)
      this.logger.error(
        { lost: this.backlog.length, dropped: this.streamDropped },
        'audit entries never reached the stream: Redis did not take them before the bot stopped (the file has them)',
      );
    // One last try for what a failed write kept.
    await (this.fileKept.length > 0 ? this.fileWriter.kick() : this.fileWriter.current);
    if (this.fileKept.length > 0) this.logger.error({ lost: this.fileKept.length }, 'audit entries never reached the file');
    this.closeFile();
  }

  /**
   * Entries go to the stream in the order they were made, in batches: whatever arrived while one script call was in
   * flight goes in the next (as the file's group commit), and with a linger whatever arrived within it. `wait`:
   * resolves once the entry is in the stream, or kept; otherwise once it is queued.
   */
  private toStream(fields: [string, string][], wait: boolean): Promise<void> {
    return new Promise((resolve) => {
      // The oldest kept entry gives way (never one of a batch that is being sent or may have been applied).
      if (this.backlog.length >= AuditLog.MAX_BACKLOG && !this.streamWriter.busy && this.sending === null) {
        this.backlog.shift()?.resolve();
        // Said once per outage (a line per append would flood it), and counted when the stream catches up.
        if (++this.streamDropped === 1)
          this.logger.error(
            { kept: AuditLog.MAX_BACKLOG },
            'audit entries dropped from the stream: Redis has not taken them for too long (the file has them)',
          );
      }
      this.backlog.push({ fields, resolve });
      if (!wait) resolve();
      if (this.streamStalled || this.redis.status !== 'ready') {
        this.scheduleRetry();
        resolve();
        return;
      }
      if (wait) void this.sendGathered();
      else this.lingering ??= setTimeout(() => void this.sendGathered(), this.lingerMs);
    });
  }

  /** Sends the entries gathering now (and waits for that). */
  private sendGathered(): Promise<void> {
    if (this.lingering) clearTimeout(this.lingering);
    this.lingering = null;
    return this.backlog.length > 0 && !this.streamStalled && this.redis.status === 'ready' ? this.streamWriter.kick() : Promise.resolve();
  }

  private async sendBacklog(): Promise<void> {
    try {
      while (this.backlog.length > 0 && this.redis.status === 'ready') {
        // A batch that may have been applied is sent again as it was, under its id; otherwise a new one.
        this.sending ??= { id: randomUUID(), count: Math.min(this.backlog.length, STREAM_BATCH) };
        const { id, count } = this.sending;
        const batch = this.backlog.slice(0, count);
        // A call on a connection that went silent (no error ever comes) would otherwise hold every later entry, and
        // the requests waiting for theirs, for ever.
        await withTimeout(
          this.appendChained(
            batch.map((e) => e.fields),
            id,
          ),
          this.callTimeoutMs,
          `no answer from Redis within ${this.callTimeoutMs} ms`,
        );
        this.sending = null;
        this.backlog.splice(0, batch.length);
        for (const e of batch) e.resolve();
      }
      if (this.backlog.length === 0) {
        this.streamStalled = false;
        this.retryDelayMs = STREAM_RETRY_MIN_MS;
        if (this.streamDropped > 0)
          this.logger.error({ dropped: this.streamDropped }, 'audit entries dropped from the stream during the outage (the file has them)');
        this.streamDropped = 0;
      }
    } catch (error) {
      this.streamStalled = true;
      this.logger.error(
        { err: String(error), kept: this.backlog.length },
        'audit stream append failed; kept, and tried again until Redis takes it',
      );
    } finally {
      this.probing = false;
      // Whatever is left is kept: its appends are over.
      for (const e of this.backlog) e.resolve();
      if (this.backlog.length > 0) this.scheduleRetry();
      else this.stopRetrying();
    }
  }

  /** Tries the kept entries again later (once at a time, backing off), whatever brought the stream to a stop. */
  private scheduleRetry(): void {
    if (this.retryTimer !== null || this.closed) return;
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(delay * 2, STREAM_RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.retry();
    }, delay);
    // A retry never keeps the process alive: close() or a reconnect's flush() covers the rest.
    this.retryTimer.unref();
  }

  private stopRetrying(): void {
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }

  /** Sends the kept entries if Redis is connected (a write it refuses keeps them, and backs off again). */
  private retry(): Promise<void> {
    if (this.backlog.length === 0 || this.closed) return Promise.resolve();
    // Closed for good: only a new connection, and its flush(), can take them.
    if (this.redis.status === 'end') return Promise.resolve();
    if (this.redis.status !== 'ready') {
      this.scheduleRetry();
      return Promise.resolve();
    }
    this.probing = true;
    return this.streamWriter.kick();
  }

  /** Chains the entries to the stream's head and appends them; chains them again when another writer got there first. */
  private async appendChained(entries: [string, string][][], batchId: string): Promise<void> {
    for (let race = 0; race < MAX_CHAIN_RACES; race++) {
      const expected = this.streamHead ?? '';
      let prev = expected;
      const args = [String(this.maxLen), GENESIS, expected];
      for (const fields of entries) {
        const own = fields.filter(([k]) => k !== 'prev' && k !== 'hash');
        const sealed = seal(Object.fromEntries(own), prev);
        args.push(String(own.length + 2), ...own.flat(), 'prev', prev, 'hash', sealed.hash);
        prev = sealed.hash;
      }
      const keys = [this.streamKey, this.headKey, `${this.streamKey}:batch:${batchId}`];
      const [ok, head] = (await APPEND.run(this.redis, keys, args)) as [number, string];
      this.streamHead = head;
      if (ok === 1 || ok === 2) return;
    }
    throw new Error(`the audit chain head kept moving (${MAX_CHAIN_RACES} tries): another writer is appending without pause`);
  }

  /** Appends what Redis missed (call when it is reachable again). The JSONL file already has every entry. */
  flush(): Promise<void> {
    this.streamStalled = false;
    this.retryDelayMs = STREAM_RETRY_MIN_MS;
    return this.streamWriter.kick();
  }

  /**
   * The newest `n` entries matching the query, newest first. Reads the stream backwards a page at a time, down to
   * `since` (with some allowance for clock skew; `ts` decides), and at most `maxScan` entries: `bounded` says the
   * scan stopped there with fewer than `n` found, so older matches may exist.
   */
  async recent(query: ScopedAuditQuery): Promise<AuditPage> {
    // What this bot has gathered is in what /audit reads; so is what it kept after a refused write, if Redis takes it now.
    await (this.streamStalled ? this.retry() : this.sendGathered());
    const min = query.since === undefined ? '-' : String(Math.max(0, Math.floor(query.since - CLOCK_SKEW_MS)));
    const filtered = query.since !== undefined || !!(query.person || query.host || query.domain || query.command || query.visible);
    const entries: Record<string, string>[] = [];
    let scanned = 0;
    let end = '+';
    while (entries.length < query.n && scanned < this.maxScan) {
      const count = filtered ? Math.min(PAGE, this.maxScan - scanned) : query.n - entries.length;
      const page = await this.redis.xrevrange(this.streamKey, end, min, 'COUNT', count);
      scanned += page.length;
      for (const [, fields] of page) {
        const entry = fieldsToRecord(fields);
        if (matches(entry, query)) entries.push(entry);
        if (entries.length >= query.n) break;
      }
      const last = page.at(-1)?.[0];
      const next = last === undefined ? null : idBefore(last);
      if (page.length < count || next === null) return { entries, scanned, bounded: false };
      end = next;
    }
    return { entries, scanned, bounded: entries.length < query.n };
  }
}

/**
 * What JSON leaves raw but breaks or reorders a line for those who read the file (`tail -f`, an editor, Python's
 * splitlines): DEL and C1 controls, U+2028/2029, bidi controls — as in control-chars.ts. Inside strings only.
 */
const LINE_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** An entry as one line of the file: JSON with those characters as `\uXXXX`, which parses back to the same text. */
function jsonLine(record: ChainRecord): string {
  return JSON.stringify(record).replace(LINE_UNSAFE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function streamValue(value: string): string {
  if (value.length <= STREAM_VALUE_MAX) return value;
  // Never half a surrogate pair.
  const cut = /[\ud800-\udbff]$/.test(value.slice(0, STREAM_VALUE_MAX)) ? STREAM_VALUE_MAX - 1 : STREAM_VALUE_MAX;
  return `${value.slice(0, cut)}… [${value.length} characters; whole in the audit file]`;
}

const FREE_TEXT = ['args', 'detail'] as const;

/** The entry as written: a timestamp first, `targets` folded into `host` and `domain`. */
function toRecord(entry: AuditEntry, now: number): Record<string, unknown> {
  const { targets, ...rest } = entry;
  const hosts = new Set(rest.host ? rest.host.split(',') : []);
  const domains = new Set(rest.domain ? rest.domain.split(',') : []);
  for (const t of targets ?? []) {
    hosts.add(t.host);
    if (t.target) hosts.add(t.target);
    if (t.domain) domains.add(t.domain);
  }
  const record: Record<string, unknown> = { ts: new Date(now).toISOString(), ...rest };
  // What a chat user typed (and a refusal or failure quoting it) is kept for years and shown again by /audit: a token
  // or a URL's password pasted there stays out, as it does from the log.
  for (const field of FREE_TEXT) if (typeof record[field] === 'string') record[field] = redactSecrets(record[field]);
  if (hosts.size > 0) record['host'] = [...hosts].join(',');
  if (domains.size > 0) record['domain'] = [...domains].join(',');
  return asParsedBack(record);
}

/**
 * What the file will hold once parsed back (no undefined, no NaN), so its hash is of exactly that: what
 * `JSON.parse(JSON.stringify(record))` gives, field by field, without writing and parsing every entry (it was 4 % of
 * the bot's CPU under load); a field that is not a plain value (none of xenops' own) still takes the round trip.
 */
export function asParsedBack(record: Readonly<Record<string, unknown>>): Record<string, unknown> {
  // An own `__proto__` key would set the copy's prototype instead of a field: JSON makes it a field.
  if (Object.hasOwn(record, '__proto__')) return JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) {
    if (typeof v === 'string' || typeof v === 'boolean' || v === null) out[k] = v;
    else if (typeof v === 'number') out[k] = Number.isFinite(v) ? v + 0 : null;
    else if (v !== undefined && typeof v !== 'function' && typeof v !== 'symbol') out[k] = JSON.parse(JSON.stringify(v));
  }
  return out;
}

function fieldsToRecord(fields: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const k = fields[i] as string;
    // The chain script writes each field once; a duplicate would come from another writer, and the first counts.
    if (!(k in o)) o[k] = fields[i + 1] as string;
  }
  return o;
}

const same = (a: string | undefined, b: string) => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * Whether an entry is about `value` (a host or a domain): its field says so, or — for entries written without one
 * (a refused request: the bot never resolved its targets) — a word of its arguments is that name. The arguments of
 * /audit itself are filters, not targets.
 */
function about(entry: Record<string, string>, field: 'host' | 'domain', value: string): boolean {
  const listed = entry[field];
  if (listed !== undefined) return listed.split(',').includes(value);
  if (entry['command'] === 'audit' || entry['args'] === undefined) return false;
  return entry['args'].split(/[^A-Za-z0-9_.+-]+/).includes(value);
}

function matches(entry: Record<string, string>, query: ScopedAuditQuery): boolean {
  if (query.visible && !query.visible(entry)) return false;
  if (query.since !== undefined && !(Date.parse(entry['ts'] ?? '') >= query.since)) return false;
  // A person is found as the one who asked and as the one who decided (an approval of someone else's request).
  if (
    query.person !== undefined &&
    !same(entry['person'], query.person) &&
    !same(entry['by'], query.person) &&
    !(entry['person'] === undefined && same(entry['userId'], query.person))
  )
    return false;
  if (query.command !== undefined && !same(entry['command'], query.command)) return false;
  if (query.host !== undefined && !about(entry, 'host', query.host)) return false;
  if (query.domain !== undefined && !about(entry, 'domain', query.domain)) return false;
  return true;
}

const MAX_SEQ = 18_446_744_073_709_551_615n;

/** The greatest stream id before `id` (null before the very first). */
function idBefore(id: string): string | null {
  const [ms, seq] = id.split('-').map((p) => BigInt(p)) as [bigint, bigint];
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  return ms > 0n ? `${ms - 1n}-${MAX_SEQ}` : null;
}

/** The least stream id after `id` (null after the very last). */
function idAfter(id: string): string | null {
  const [ms, seq] = id.split('-').map((p) => BigInt(p)) as [bigint, bigint];
  if (seq < MAX_SEQ) return `${ms}-${seq + 1n}`;
  return `${ms + 1n}-0`;
}

/** The hash of a file's last entry, read from its end (a line cut short is skipped; a missing or empty file: GENESIS). */
async function readFileHead(file: string): Promise<FileHead> {
  const handle = await open(file, 'r').catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (!handle) return { hash: GENESIS, size: 0, needsNewline: false };
  try {
    const { size } = await handle.stat();
    if (size === 0) return { hash: GENESIS, size, needsNewline: false };
    const lastByte = Buffer.alloc(1);
    await handle.read(lastByte, 0, 1, size - 1);
    const needsNewline = lastByte[0] !== 0x0a;
    for (let span = 64 * 1024; ; span *= 16) {
      const start = Math.max(0, size - span);
      const chunk = Buffer.alloc(size - start);
      await handle.read(chunk, 0, chunk.length, start);
      const lines = chunk.toString('utf8').split('\n');
      // A chunk that does not start the file may start mid-line.
      if (start > 0) lines.shift();
      for (let i = lines.length - 1; i >= 0; i--) {
        const record = parseLine(lines[i] as string);
        // An entry written before the chain began (no hash): the chain starts after it.
        if (record) return { hash: typeof record['hash'] === 'string' ? record['hash'] : GENESIS, size, needsNewline };
      }
      if (start === 0) return { hash: GENESIS, size, needsNewline };
    }
  } finally {
    await handle.close();
  }
}

/** Checks a JSONL audit file's chain, line by line (throws when it cannot be read, e.g. ENOENT). */
export async function verifyAuditFile(path: string): Promise<ChainReport> {
  const verifier = new ChainVerifier({ anchored: true });
  const input = createReadStream(path, 'utf8');
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    let n = 0;
    for await (const line of lines) if (pushLine(verifier, ++n, line)) break;
  } finally {
    lines.close();
    input.destroy();
  }
  return verifier.report();
}

/**
 * What `xenops audit verify` first finds at a stream's key, and its head key. The bot's appends make both in one script
 * and never leave the stream empty (XADD … MAXLEN ~ trims whole old nodes, never the entry it adds; audit.streamMaxLen
 * is at least 100). So neither is "missing": no audit trail here (a wrong prefix or Redis URL, or no bot has written
 * yet); a head without its stream is one `deleted`; a stream with no entry and no head, one `emptied` (no xenops leaves
 * it so); a stream without its head key (`headless`: an older xenops's) can be checked but for its newest entries.
 */
export type AuditStreamPresence =
  | { kind: 'missing' }
  | { kind: 'deleted'; head: string }
  | { kind: 'emptied' }
  | { kind: 'headless' }
  | { kind: 'present' };

export async function auditStreamPresence(redis: RedisClient, streamKey: string): Promise<AuditStreamPresence> {
  const [exists, head] = await Promise.all([redis.exists(streamKey), redis.get(`${streamKey}:head`)]);
  if (exists === 0) return head === null ? { kind: 'missing' } : { kind: 'deleted', head };
  if (head !== null) return { kind: 'present' };
  // A key that is no stream fails here, as reading its entries would.
  return (await redis.xlen(streamKey)) === 0 ? { kind: 'emptied' } : { kind: 'headless' };
}

/**
 * Checks the stream's chain from its oldest entry (MAXLEN trimming drops old entries: the first one present is
 * taken as it is, every later link is checked) to the entry its head key names (or past it: bots may append
 * meanwhile), so newest entries deleted are reported too. Without a head key (lost, or an older xenops) the end
 * cannot be checked.
 */
export async function verifyAuditStream(redis: RedisClient, streamKey: string, pageSize = 1_000): Promise<ChainReport> {
  const verifier = new ChainVerifier({ anchored: false });
  const head = await redis.get(`${streamKey}:head`);
  if (head !== null) verifier.mustReach(head);
  let start: string | null = '-';
  let newest: string | null = null;
  while (start !== null) {
    const page: [string, string[]][] = await redis.xrange(streamKey, start, '+', 'COUNT', pageSize);
    for (const [id, fields] of page) if (verifier.push(`stream entry ${id}`, fieldsToRecord(fields))) return verifier.report();
    newest = page.at(-1)?.[0] ?? newest;
    start = page.length < pageSize || newest === null ? null : idAfter(newest);
  }
  verifier.end(newest === null ? 'the end of the stream (it is empty)' : `the end of the stream, after stream entry ${newest}`);
  return verifier.report();
}
