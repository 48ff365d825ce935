import * as crypto from 'node:crypto';

/**
 * The audit trail's hash chains, as pure functions: how an entry is serialized and hashed, and how a chain is
 * checked. The JSONL file and the Redis stream are two separate chains built the same way:
 *
 * - every entry carries `prev` (the previous entry's `hash`; the first entry of a file names GENESIS) and `hash`;
 * - `hash` = lowercase hex SHA-256 of the entry's canonical serialization, which includes `prev` and excludes `hash`;
 * - the canonical serialization is every field whose value is neither null nor undefined, sorted by the UTF-8
 *   bytes of its name, written as two netstrings (`<byte length>:<bytes>,`): the name, then the value as text
 *   (strings as they are, numbers and booleans as JavaScript writes them).
 *
 * The stream's entries are hashed inside Redis by a Lua script (src/app/audit.ts) that implements the same bytes and
 * the same SHA-256, so `xenops audit verify` checks both chains offline with these functions.
 */

/** `prev` of the first entry of a chain: 64 zeros. */
export const GENESIS = '0'.repeat(64);

export type ChainRecord = Readonly<Record<string, unknown>>;

/** A field's value as it is hashed (and as the stream stores it). */
export function fieldText(value: unknown): string {
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function netstring(s: string): string {
  return `${Buffer.byteLength(s, 'utf8')}:${s},`;
}

const ASCII = /^[ -~]*$/;
/** UTF-8 byte order. For printable ASCII names (all of xenops' own) that is the strings' order, without two buffers a comparison. */
const byteOrder = (a: string, b: string) =>
  ASCII.test(a) && ASCII.test(b) ? (a < b ? -1 : a > b ? 1 : 0) : Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));

/** The bytes an entry's hash covers (as a string; hashed as UTF-8). */
export function canonical(record: ChainRecord): string {
  const keys = Object.keys(record).filter((k) => k !== 'hash' && record[k] !== null && record[k] !== undefined);
  // Every entry is hashed twice (file and stream): names tested once each, not at every comparison of the sort.
  if (keys.every((k) => ASCII.test(k))) keys.sort();
  else keys.sort(byteOrder);
  let out = '';
  for (const k of keys) out += netstring(k) + netstring(fieldText(record[k]));
  return out;
}

/** SHA-256 as lowercase hex: the one-shot `crypto.hash` where Node has it (20.12+), a Hash object otherwise. */
const sha256Hex: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) => (crypto as unknown as { hash(algorithm: string, data: string, encoding: string): string }).hash('sha256', text, 'hex')
    : (text) => crypto.createHash('sha256').update(text, 'utf8').digest('hex');

export function hashOf(record: ChainRecord): string {
  return sha256Hex(canonical(record));
}

/** The entry as written: `prev` and its `hash` added (any `prev`/`hash` it had are replaced). */
export function seal<T extends ChainRecord>(record: T, prev: string): T & { prev: string; hash: string } {
  // Built in place (not three spreads): the same fields in the same order, `prev` and `hash` last.
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(record)) if (k !== 'hash' && k !== 'prev') out[k] = record[k];
  out['prev'] = prev;
  out['hash'] = hashOf(out);
  return out as T & { prev: string; hash: string };
}

const short = (hash: unknown) => (typeof hash === 'string' ? `${hash.slice(0, 12)}…` : String(hash));

const UNREADABLE = 'not a JSON object (a truncated line, or one edited by hand)';

export type ChainProblem = 'unparsable' | 'not chained' | 'hash mismatch' | 'prev mismatch' | 'head mismatch';

/** The first entry that breaks the chain: where it is (`line 7`, `stream entry 1714…-0`), what is wrong, and why. */
export interface ChainBreak {
  where: string;
  problem: ChainProblem;
  detail: string;
}

export interface ChainReport {
  /** Chained entries checked (up to, not including, a break). */
  entries: number;
  /** Entries at the start written before the chain began (no `prev`, no `hash`). */
  unchained: number;
  /** Where the checked part of the chain starts (the first chained entry's location), if any. */
  first: string | null;
  /** The hash of the last intact entry (GENESIS when none). */
  head: string;
  broken: ChainBreak | null;
  /**
   * Lines a write left cut short (the bot stopped while writing, a full disk), which the chain goes on past: the next
   * entry names the last whole one, as the bot chains after such a line. Only when there are some.
   */
  cutShort?: string[];
}

/**
 * Checks a chain one entry at a time (so a large file or stream is never held in memory) and stops at the first
 * break. `anchored`: the first chained entry must name GENESIS (a file; a cut beginning is a break). A trimmed
 * stream is not anchored: its first present entry's `prev` is taken as it is and every later link is checked.
 */
export class ChainVerifier {
  private entries = 0;
  private unchained = 0;
  private first: string | null = null;
  private head = GENESIS;
  private previousWhere: string | null = null;
  private broken: ChainBreak | null = null;
  /** The hash the chain must pass through (see `mustReach`), and whether it has. */
  private landmark: { hash: string; reached: boolean } | null = null;
  /** Lines cut short that the chain went on past, and those it has not gone on past yet (the last ones so far). */
  private readonly cut: string[] = [];
  private pendingCut: string[] = [];

  constructor(private readonly options: { anchored: boolean }) {}

  /**
   * The chain must pass through `hash`: a stream's head key, read before its entries. Every entry links to the one
   * before it, so deleting the newest ones leaves no break inside the chain; only the head key still names the last
   * entry written. Entries appended after the key was read follow it, so a live stream still passes.
   */
  mustReach(hash: string): void {
    this.landmark = { hash, reached: false };
  }

  /** After the last entry (`where` says where that is): the break, if any, including a `mustReach` hash never met. */
  end(where: string): ChainBreak | null {
    if (this.broken || !this.landmark || this.landmark.reached) return this.broken;
    const last = this.previousWhere === null ? 'there is none' : `the newest, ${this.previousWhere}, hashes to ${short(this.head)}`;
    return this.fail(
      where,
      'head mismatch',
      `the head key names ${short(this.landmark.hash)}, which no entry hashes to (${last}): the newest entries were deleted`,
    );
  }

  /**
   * Feeds the next entry (a record, or null with a reason when it could not be read). Returns the break, if any.
   * `cutShort`: the unreadable line is the start of an entry a write left unfinished; it is a break only if the next
   * entry does not go on from the last whole one.
   */
  push(where: string, record: ChainRecord | null, unreadable = UNREADABLE, cutShort = false): ChainBreak | null {
    if (this.broken) return this.broken;
    if (record === null) {
      if (!cutShort) return this.fail(where, 'unparsable', unreadable);
      this.pendingCut.push(where);
      return null;
    }
    if (this.pendingCut.length > 0) {
      const [cut] = this.pendingCut;
      const goesOn = this.first !== null || this.options.anchored ? this.head : null;
      if (typeof record['hash'] !== 'string' || record['hash'] !== hashOf(record) || (goesOn !== null && record['prev'] !== goesOn))
        return this.fail(cut as string, 'unparsable', unreadable);
      this.cut.push(...this.pendingCut);
      this.pendingCut = [];
    }
    if (record['hash'] === undefined && record['prev'] === undefined && this.first === null) {
      this.unchained++;
      return null;
    }
    for (const field of ['hash', 'prev'])
      if (typeof record[field] !== 'string')
        return this.fail(where, 'not chained', `no ${field} field (written without the chain, or the field was removed)`);
    const computed = hashOf(record);
    if (computed !== record['hash'])
      return this.fail(
        where,
        'hash mismatch',
        `stored ${short(record['hash'])}, computed ${short(computed)}: the entry was changed after it was written`,
      );
    const expected = this.first === null ? (this.options.anchored ? GENESIS : record['prev']) : this.head;
    if (record['prev'] !== expected)
      return this.fail(
        where,
        'prev mismatch',
        this.previousWhere === null
          ? `the first entry must follow the genesis value ${short(GENESIS)} but names ${short(record['prev'])}: the beginning was cut or replaced`
          : `it names ${short(record['prev'])} but the entry before it (${this.previousWhere}) hashes to ${short(this.head)}: an entry was deleted, inserted or moved here`,
      );
    this.first ??= where;
    this.entries++;
    this.head = record['hash'] as string;
    if (this.landmark?.hash === this.head) this.landmark.reached = true;
    this.previousWhere = where;
    return null;
  }

  /** The last lines cut short, with nothing after them, are what a bot stopped while writing leaves: not a break. */
  report(): ChainReport {
    const cutShort = this.broken ? this.cut : [...this.cut, ...this.pendingCut];
    return {
      entries: this.entries,
      unchained: this.unchained,
      first: this.first,
      head: this.head,
      broken: this.broken,
      ...(cutShort.length > 0 ? { cutShort } : {}),
    };
  }

  private fail(where: string, problem: ChainProblem, detail: string): ChainBreak {
    this.broken = { where, problem, detail };
    return this.broken;
  }
}

/** Reads one JSONL line as an entry: a JSON object, or null. */
export function parseLine(line: string): ChainRecord | null {
  if (line.trim() === '') return null;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as ChainRecord) : null;
  } catch {
    return null;
  }
}

/** How the bot begins every entry of its file (`toRecord` puts the time first). */
const ENTRY_START = '{"ts":"';

/** Feeds line `lineNo` (from 1) of a JSONL file to a verifier; returns the break, if any. */
export function pushLine(verifier: ChainVerifier, lineNo: number, line: string): ChainBreak | null {
  const record = parseLine(line);
  // Unreadable, and the start of an entry as the bot writes it: a write cut short, if the chain goes on past it.
  const cutShort = record === null && line !== '' && (line.startsWith(ENTRY_START) || ENTRY_START.startsWith(line));
  return verifier.push(`line ${lineNo}`, record, line.trim() === '' ? 'an empty line' : UNREADABLE, cutShort);
}

/** Checks the chain of a JSONL text (a final newline ends the last line). */
export function verifyLines(text: string): ChainReport {
  const verifier = new ChainVerifier({ anchored: true });
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const [i, line] of lines.entries()) if (pushLine(verifier, i + 1, line)) break;
  return verifier.report();
}

/** One line for `xenops audit verify`: `LABEL: OK: N entries, chain intact`, or the first break. */
export function formatReport(label: string, report: ChainReport): string {
  if (report.broken) {
    const { where, problem, detail } = report.broken;
    return `${label}: BROKEN at ${where}: ${problem}: ${detail} (${report.entries} entr${report.entries === 1 ? 'y' : 'ies'} intact before it)`;
  }
  const legacy =
    report.unchained > 0
      ? ` (after ${report.unchained} older entr${report.unchained === 1 ? 'y' : 'ies'} written before the chain began)`
      : '';
  const cut = report.cutShort ?? [];
  const cutNote =
    cut.length === 0
      ? ''
      : cut.length === 1
        ? ` (${cut[0]} is an entry cut short, as a crash or a full disk leaves one: not an entry, skipped)`
        : ` (lines ${cut.map((w) => w.replace(/^line /, '')).join(', ')} are entries cut short, as a crash or a full disk leaves them: not entries, skipped)`;
  return `${label}: OK: ${report.entries} entr${report.entries === 1 ? 'y' : 'ies'}, chain intact${legacy}${cutNote}`;
}
