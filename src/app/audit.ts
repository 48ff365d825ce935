import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { type FileHandle, mkdir, open, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import type { LocalContext } from '../core/define-command.ts';
import type { Logger } from '../core/log.ts';
import type { RedisClient } from '../queue/redis-connection.ts';
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
export type AuditPage = Awaited<ReturnType<LocalContext['readAudit']>>;

/** Entries a filtered /audit reads at most before it answers with what it found. */
export const AUDIT_MAX_SCAN = 5_000;
const PAGE = 500;
/** The stream is bounded by its ids (Redis's clock); entries' `ts` (the bot's clock) may run this far ahead. */
const CLOCK_SKEW_MS = 5 * 60_000;
/**
 * The chain script hashes in Lua at about 1 µs per byte while Redis waits, so a stream value is cut at this many
 * characters (a chat message's size); the file always has the whole entry.
 */
export const STREAM_VALUE_MAX = 4_000;

/**
 * Appends one entry to the stream and moves the chain head, atomically, so any number of bots writing one stream
 * keep one valid chain (entries are chained in the order Redis runs the script). The hash is computed here, in
 * Redis, exactly as src/app/audit-chain.ts computes it: SHA-256 (Redis scripts only offer SHA-1 built in; this
 * one is checked against node:crypto by the tests) of the fields sorted by name, as netstrings, `prev` included.
 * When the head key is missing, the chain goes on from the stream's last entry (or GENESIS for a new stream).
 *
 * KEYS: stream, head. ARGV: MAXLEN, GENESIS, then field, value, field, value, …
 */
const APPEND_LUA = `
local band, bxor, bnot, rshift, ror, tobit, tohex = bit.band, bit.bxor, bit.bnot, bit.rshift, bit.ror, bit.tobit, bit.tohex
local K = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2}

local function be32(n)
  return string.char(math.floor(n / 16777216) % 256, math.floor(n / 65536) % 256, math.floor(n / 256) % 256, n % 256)
end

local function sha256(msg)
  local len = #msg
  local bits = len * 8
  msg = msg .. '\\128' .. string.rep('\\0', (55 - len) % 64) .. be32(math.floor(bits / 4294967296)) .. be32(bits % 4294967296)
  local H = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19}
  local w = {}
  for chunk = 1, #msg, 64 do
    for i = 1, 16 do
      local p = chunk + (i - 1) * 4
      local b1, b2, b3, b4 = string.byte(msg, p, p + 3)
      w[i] = tobit(b1 * 16777216 + b2 * 65536 + b3 * 256 + b4)
    end
    for i = 17, 64 do
      local x, y = w[i - 15], w[i - 2]
      local s0 = bxor(ror(x, 7), ror(x, 18), rshift(x, 3))
      local s1 = bxor(ror(y, 17), ror(y, 19), rshift(y, 10))
      w[i] = tobit(w[i - 16] + s0 + w[i - 7] + s1)
    end
    local a, b, c, d, e, f, g, h = H[1], H[2], H[3], H[4], H[5], H[6], H[7], H[8]
    for i = 1, 64 do
      local t1 = h + bxor(ror(e, 6), ror(e, 11), ror(e, 25)) + bxor(band(e, f), band(bnot(e), g)) + K[i] + w[i]
      local t2 = bxor(ror(a, 2), ror(a, 13), ror(a, 22)) + bxor(band(a, b), band(a, c), band(b, c))
      h, g, f, e, d, c, b, a = g, f, e, tobit(d + t1), c, b, a, tobit(t1 + t2)
    end
    H[1], H[2], H[3], H[4] = tobit(H[1] + a), tobit(H[2] + b), tobit(H[3] + c), tobit(H[4] + d)
    H[5], H[6], H[7], H[8] = tobit(H[5] + e), tobit(H[6] + f), tobit(H[7] + g), tobit(H[8] + h)
  end
  local out = {}
  for i = 1, 8 do out[i] = tohex(H[i], 8) end
  return table.concat(out)
end

-- Byte order, whatever the server's locale.
local function before(x, y)
  for i = 1, math.min(#x, #y) do
    local p, q = string.byte(x, i), string.byte(y, i)
    if p ~= q then return p < q end
  end
  return #x < #y
end

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

local names, values, xadd = {}, {}, {KEYS[1], 'MAXLEN', '~', ARGV[1], '*'}
for i = 3, #ARGV - 1, 2 do
  local k, v = ARGV[i], ARGV[i + 1]
  if k ~= 'prev' and k ~= 'hash' and values[k] == nil then
    names[#names + 1] = k
    values[k] = v
    xadd[#xadd + 1] = k
    xadd[#xadd + 1] = v
  end
end
names[#names + 1] = 'prev'
values['prev'] = prev
table.sort(names, before)
local parts = {}
for i, k in ipairs(names) do
  local v = values[k]
  parts[i] = #k .. ':' .. k .. ',' .. #v .. ':' .. v .. ','
end
local hash = sha256(table.concat(parts))
xadd[#xadd + 1] = 'prev'
xadd[#xadd + 1] = prev
xadd[#xadd + 1] = 'hash'
xadd[#xadd + 1] = hash
local id = redis.call('XADD', unpack(xadd))
redis.call('SET', KEYS[2], hash)
return {id, hash}
`;
const APPEND_SHA = createHash('sha1').update(APPEND_LUA).digest('hex');

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
  private dirReady: Promise<unknown> | null = null;
  private readonly backlog: string[][] = [];
  private flushing: Promise<void> | null = null;
  private readonly fileBacklog: { record: ChainRecord; resolve: () => void }[] = [];
  private fileWriting: Promise<void> | null = null;
  private fileHead: FileHead | null = null;
  /** The audit file, opened once for appending (reopened when it was rotated or removed under us). */
  private handle: { fh: FileHandle; ino: number } | null = null;
  private readonly headKey: string;
  private readonly maxScan: number;
  private readonly now: () => number;
  private static readonly MAX_BACKLOG = 10_000;

  constructor(
    private readonly redis: RedisClient,
    private readonly streamKey: string,
    private readonly file: string,
    private readonly maxLen: number,
    private readonly logger: Logger,
    options: { maxScan?: number; now?: () => number } = {},
  ) {
    // Under the stream's own hash tag: one Redis Cluster slot, so the script may touch both.
    this.headKey = `${streamKey}:head`;
    this.maxScan = options.maxScan ?? AUDIT_MAX_SCAN;
    this.now = options.now ?? Date.now;
  }

  async append(entry: AuditEntry): Promise<void> {
    const record = toRecord(entry, this.now());
    const fields = Object.entries(record).flatMap(([k, v]) => (v === undefined || v === null ? [] : [k, streamValue(fieldText(v))]));
    // The audit must never take the bot down: failures are logged, the request goes on.
    await Promise.all([this.toStream(fields), this.toFile(record)]);
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
      this.fileWriting ??= this.drainFile().finally(() => {
        this.fileWriting = null;
      });
    });
  }

  private async drainFile(): Promise<void> {
    while (this.fileBacklog.length > 0) {
      const batch = this.fileBacklog.splice(0);
      try {
        this.dirReady ??= mkdir(dirname(this.file), { recursive: true });
        await this.dirReady;
        const now = await stat(this.file).then(
          (s) => ({ size: s.size, ino: s.ino }),
          () => ({ size: 0, ino: -1 }),
        );
        // Rotated or removed: the handle points at the old file.
        if (this.handle && this.handle.ino !== now.ino) await this.closeFile();
        // First append, or the file changed under us (another process, rotation): read its last entry again.
        if (this.fileHead?.size !== now.size) this.fileHead = await readFileHead(this.file);
        let head: FileHead = this.fileHead;
        let text = '';
        for (const { record } of batch) {
          const sealed = seal(record, head.hash);
          const line = `${head.needsNewline ? '\n' : ''}${JSON.stringify(sealed)}\n`;
          text += line;
          head = { hash: sealed.hash, size: head.size + Buffer.byteLength(line), needsNewline: false };
        }
        if (!this.handle) {
          const fh = await open(this.file, 'a');
          this.handle = { fh, ino: (await fh.stat()).ino };
        }
        await this.handle.fh.appendFile(text);
        this.fileHead = head;
      } catch (e) {
        this.fileHead = null;
        await this.closeFile();
        this.logger.error({ err: String(e) }, 'audit file append failed');
      }
      for (const { resolve } of batch) resolve();
    }
  }

  private async closeFile(): Promise<void> {
    const h = this.handle;
    this.handle = null;
    await h?.fh.close().catch(() => {});
  }

  /** Waits for the file appends made so far, and closes the file. */
  async close(): Promise<void> {
    await this.fileWriting;
    await this.closeFile();
  }

  private async toStream(fields: string[]): Promise<void> {
    // Keep the stream in order: while older entries wait, newer ones queue behind them.
    if (this.backlog.length > 0 || this.redis.status !== 'ready') {
      this.keep(fields);
      return;
    }
    try {
      await this.appendChained(fields);
    } catch (error) {
      this.logger.error({ err: String(error) }, 'audit stream append failed; kept for when Redis is back');
      this.keep(fields);
    }
  }

  /** XADD through the chain script (EVALSHA, loading it on NOSCRIPT). Returns the entry's id and hash. */
  private async appendChained(fields: string[]): Promise<[string, string]> {
    const args = [this.streamKey, this.headKey, String(this.maxLen), GENESIS, ...fields];
    try {
      return (await this.redis.evalsha(APPEND_SHA, 2, ...args)) as [string, string];
    } catch (error) {
      if (!String(error).includes('NOSCRIPT')) throw error;
      return (await this.redis.eval(APPEND_LUA, 2, ...args)) as [string, string];
    }
  }

  private keep(fields: string[]): void {
    if (this.backlog.length >= AuditLog.MAX_BACKLOG) this.backlog.shift();
    this.backlog.push(fields);
  }

  /** Appends what Redis missed (call when it is reachable again). The JSONL file already has every entry. */
  flush(): Promise<void> {
    // Cleared in a .finally callback, which runs after this assignment: cleared inside the async body, a flush with
    // nothing to do (it completes synchronously) was cleared before being assigned, and every later flush returned
    // that settled promise without flushing — after a second outage the stream got no entry again.
    this.flushing ??= this.drainBacklog().finally(() => {
      this.flushing = null;
    });
    return this.flushing;
  }

  private async drainBacklog(): Promise<void> {
    try {
      while (this.backlog.length > 0 && this.redis.status === 'ready') {
        await this.appendChained(this.backlog[0] as string[]);
        this.backlog.shift();
      }
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'audit backlog flush interrupted');
    }
  }

  /**
   * The newest `n` entries matching the query, newest first. Reads the stream backwards a page at a time, down to
   * `since` (with some allowance for clock skew; `ts` decides), and at most `maxScan` entries: `bounded` says the
   * scan stopped there with fewer than `n` found, so older matches may exist.
   */
  async recent(query: AuditQuery): Promise<AuditPage> {
    const min = query.since === undefined ? '-' : String(Math.max(0, Math.floor(query.since - CLOCK_SKEW_MS)));
    const filtered = query.since !== undefined || !!(query.person || query.host || query.domain || query.command);
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

function streamValue(value: string): string {
  if (value.length <= STREAM_VALUE_MAX) return value;
  // Never half a surrogate pair.
  const cut = /[\ud800-\udbff]$/.test(value.slice(0, STREAM_VALUE_MAX)) ? STREAM_VALUE_MAX - 1 : STREAM_VALUE_MAX;
  return `${value.slice(0, cut)}… [${value.length} characters; whole in the audit file]`;
}

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
  if (hosts.size > 0) record['host'] = [...hosts].join(',');
  if (domains.size > 0) record['domain'] = [...domains].join(',');
  // What the file will hold once parsed back (no undefined, no NaN), so its hash is of exactly that.
  return JSON.parse(JSON.stringify(record)) as Record<string, unknown>;
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

function matches(entry: Record<string, string>, query: AuditQuery): boolean {
  if (query.since !== undefined && !(Date.parse(entry['ts'] ?? '') >= query.since)) return false;
  if (
    query.person !== undefined &&
    !same(entry['person'], query.person) &&
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
 * Checks the stream's chain from its oldest entry (MAXLEN trimming drops old entries: the first one present is
 * taken as it is, every later link is checked).
 */
export async function verifyAuditStream(redis: RedisClient, streamKey: string, pageSize = 1_000): Promise<ChainReport> {
  const verifier = new ChainVerifier({ anchored: false });
  let start: string | null = '-';
  while (start !== null) {
    const page: [string, string[]][] = await redis.xrange(streamKey, start, '+', 'COUNT', pageSize);
    for (const [id, fields] of page) if (verifier.push(`stream entry ${id}`, fieldsToRecord(fields))) return verifier.report();
    const last = page.at(-1)?.[0];
    start = page.length < pageSize || last === undefined ? null : idAfter(last);
  }
  return verifier.report();
}
