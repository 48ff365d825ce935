import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ChainVerifier, canonical, formatReport, GENESIS, hashOf, seal, verifyLines } from './audit-chain.ts';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** A chain of `n` entries as the bot writes them to the JSONL file. */
function chain(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  let prev = GENESIS;
  for (let i = 1; i <= n; i++) {
    const entry = seal(
      {
        ts: `2025-01-31T08:00:0${i}.000Z`,
        event: 'request',
        requestId: `r${i}`,
        person: i === 2 ? null : 'bob',
        command: 'stop',
        args: 'web',
        durationMs: i,
      },
      prev,
    );
    out.push(entry);
    prev = entry.hash;
  }
  return out;
}

const jsonl = (entries: Record<string, unknown>[]) => entries.map((e) => `${JSON.stringify(e)}\n`).join('');
const short = (h: unknown) => `${String(h).slice(0, 12)}…`;

describe('canonical serialization', () => {
  it('is the fields sorted by the bytes of their names as netstrings (byte lengths), prev included, hash and null/undefined left out', () => {
    expect(canonical({ ts: 'T', event: 'request', person: null, args: undefined, durationMs: 12, prev: 'P', hash: 'H', détail: 'é' })).toBe(
      '10:durationMs,2:12,7:détail,2:é,5:event,7:request,4:prev,1:P,2:ts,1:T,',
    );
  });

  it('does not depend on the order of the fields, and hashes with SHA-256', () => {
    const a = { ts: 'T', event: 'request', prev: GENESIS };
    const b = { prev: GENESIS, event: 'request', ts: 'T' };
    expect(canonical(a)).toBe(canonical(b));
    expect(hashOf(a)).toBe(sha256(`5:event,7:request,4:prev,64:${GENESIS},2:ts,1:T,`));
    expect(hashOf(a)).toBe(hashOf(b));
  });

  it('seal adds prev and the hash over the entry with prev', () => {
    const sealed = seal({ event: 'request' }, GENESIS);
    expect(sealed).toEqual({ event: 'request', prev: GENESIS, hash: sha256(`5:event,7:request,4:prev,64:${GENESIS},`) });
    expect(GENESIS).toBe('0'.repeat(64));
  });
});

describe('verifying a JSONL chain', () => {
  it('passes an intact chain', () => {
    const report = verifyLines(jsonl(chain(5)));
    expect(report).toEqual({ entries: 5, unchained: 0, first: 'line 1', head: chain(5)[4]?.['hash'], broken: null });
    expect(formatReport('var/audit.jsonl', report)).toBe('var/audit.jsonl: OK: 5 entries, chain intact');
  });

  it('passes an empty file', () => {
    expect(formatReport('a.jsonl', verifyLines(''))).toBe('a.jsonl: OK: 0 entries, chain intact');
  });

  it('names an entry whose field was edited: hash mismatch', () => {
    const entries = chain(5);
    const edited = { ...entries[2], person: 'alice' };
    const report = verifyLines(jsonl([...entries.slice(0, 2), edited, ...entries.slice(3)]));
    expect(report.broken).toEqual({
      where: 'line 3',
      problem: 'hash mismatch',
      detail: `stored ${short(entries[2]?.['hash'])}, computed ${short(hashOf(edited))}: the entry was changed after it was written`,
    });
    expect(report.entries).toBe(2);
    expect(formatReport('f', report)).toBe(
      `f: BROKEN at line 3: hash mismatch: stored ${short(entries[2]?.['hash'])}, computed ${short(hashOf(edited))}: the entry was changed after it was written (2 entries intact before it)`,
    );
  });

  it('names the entry after a deleted line: prev mismatch', () => {
    const entries = chain(5);
    const report = verifyLines(jsonl([...entries.slice(0, 2), ...entries.slice(3)]));
    expect(report.broken).toEqual({
      where: 'line 3',
      problem: 'prev mismatch',
      detail: `it names ${short(entries[2]?.['hash'])} but the entry before it (line 2) hashes to ${short(entries[1]?.['hash'])}: an entry was deleted, inserted or moved here`,
    });
  });

  it('names the first of a reordered pair', () => {
    const entries = chain(5);
    const report = verifyLines(jsonl([entries[0], entries[1], entries[3], entries[2], entries[4]] as Record<string, unknown>[]));
    expect(report.broken).toEqual({
      where: 'line 3',
      problem: 'prev mismatch',
      detail: `it names ${short(entries[2]?.['hash'])} but the entry before it (line 2) hashes to ${short(entries[1]?.['hash'])}: an entry was deleted, inserted or moved here`,
    });
  });

  it('names a truncated last line as an entry cut short (a write a crash stopped), not a break', () => {
    const text = jsonl(chain(4));
    const report = verifyLines(text.slice(0, text.length - 30));
    expect(report).toMatchObject({ broken: null, entries: 3, cutShort: ['line 4'] });
    expect(formatReport('f', report)).toBe(
      'f: OK: 3 entries, chain intact (line 4 is an entry cut short, as a crash or a full disk leaves one: not an entry, skipped)',
    );
    // A last line that is not the start of an entry is a break.
    expect(verifyLines(`${text}{"event":"request"\n`).broken).toEqual({
      where: 'line 5',
      problem: 'unparsable',
      detail: 'not a JSON object (a truncated line, or one edited by hand)',
    });
  });

  it('names a file whose beginning was cut: the first entry must follow the genesis value', () => {
    const entries = chain(3);
    expect(verifyLines(jsonl(entries.slice(1))).broken).toEqual({
      where: 'line 1',
      problem: 'prev mismatch',
      detail: `the first entry must follow the genesis value ${short(GENESIS)} but names ${short(entries[0]?.['hash'])}: the beginning was cut or replaced`,
    });
  });

  it('names an entry whose hash or prev was removed, and an empty line', () => {
    const entries = chain(3);
    const { hash: _h, ...noHash } = entries[1] as Record<string, unknown>;
    expect(verifyLines(jsonl([entries[0], noHash, entries[2]] as Record<string, unknown>[])).broken).toEqual({
      where: 'line 2',
      problem: 'not chained',
      detail: 'no hash field (written without the chain, or the field was removed)',
    });
    const { prev: _p, ...noPrev } = entries[1] as Record<string, unknown>;
    expect(verifyLines(jsonl([entries[0], noPrev] as Record<string, unknown>[])).broken?.detail).toBe(
      'no prev field (written without the chain, or the field was removed)',
    );
    const lines = jsonl(entries).split('\n');
    expect(verifyLines([lines[0], '', lines[1]].join('\n')).broken).toEqual({
      where: 'line 2',
      problem: 'unparsable',
      detail: 'an empty line',
    });
  });

  it('accepts entries written before the chain began only at the start', () => {
    const legacy = [
      { ts: 'a', event: 'request' },
      { ts: 'b', event: 'request' },
    ];
    const report = verifyLines(jsonl([...legacy, ...chain(2)]));
    expect(report).toMatchObject({ entries: 2, unchained: 2, first: 'line 3', broken: null });
    expect(formatReport('f', report)).toBe('f: OK: 2 entries, chain intact (after 2 older entries written before the chain began)');
    expect(verifyLines(jsonl([...chain(2), legacy[0] as Record<string, unknown>])).broken?.where).toBe('line 3');
  });

  it('a trimmed stream is not anchored: its first entry may name any prev, later links are checked', () => {
    const entries = chain(4).slice(1);
    const stream = new ChainVerifier({ anchored: false });
    for (const [i, e] of entries.entries()) expect(stream.push(`stream entry ${i}-0`, e)).toBeNull();
    expect(stream.report()).toMatchObject({ entries: 3, first: 'stream entry 0-0', broken: null });
    const gap = new ChainVerifier({ anchored: false });
    gap.push('stream entry 1-0', entries[0] as Record<string, unknown>);
    expect(gap.push('stream entry 3-0', entries[2] as Record<string, unknown>)).toMatchObject({
      where: 'stream entry 3-0',
      problem: 'prev mismatch',
    });
    // After the first break, the verifier keeps naming it.
    expect(gap.push('stream entry 4-0', entries[1] as Record<string, unknown>)?.where).toBe('stream entry 3-0');
  });

  it('a stream must reach its head key: newest entries deleted leave the chain intact but never reach it', () => {
    const entries = chain(4);
    const head = entries[3]?.['hash'] as string;
    // Entries appended after the head key was read follow it: still intact.
    const live = new ChainVerifier({ anchored: false });
    live.mustReach(entries[2]?.['hash'] as string);
    for (const [i, e] of entries.entries()) live.push(`stream entry ${i}-0`, e);
    expect(live.end('the end of the stream')).toBeNull();
    expect(live.report().broken).toBeNull();

    const cut = new ChainVerifier({ anchored: false });
    cut.mustReach(head);
    for (const [i, e] of entries.slice(0, 3).entries()) cut.push(`stream entry ${i}-0`, e);
    expect(cut.end('the end of the stream, after stream entry 2-0')).toEqual({
      where: 'the end of the stream, after stream entry 2-0',
      problem: 'head mismatch',
      detail: `the head key names ${short(head)}, which no entry hashes to (the newest, stream entry 2-0, hashes to ${short(entries[2]?.['hash'])}): the newest entries were deleted`,
    });
    expect(formatReport('stream p:audit', cut.report())).toBe(
      `stream p:audit: BROKEN at the end of the stream, after stream entry 2-0: head mismatch: the head key names ${short(head)}, which no entry hashes to (the newest, stream entry 2-0, hashes to ${short(entries[2]?.['hash'])}): the newest entries were deleted (3 entries intact before it)`,
    );

    const empty = new ChainVerifier({ anchored: false });
    empty.mustReach(head);
    expect(empty.end('the end of the stream (it is empty)')?.detail).toBe(
      `the head key names ${short(head)}, which no entry hashes to (there is none): the newest entries were deleted`,
    );
    // Without a head key (lost, or an older xenops) the end is not checked.
    expect(new ChainVerifier({ anchored: false }).end('the end of the stream (it is empty)')).toBeNull();
  });
});
