import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { QuietCollectPolicy } from './idle-collector.ts';

const MiB = 1024 * 1024;

describe('QuietCollectPolicy', () => {
  it('collects once the event loop has been quiet two windows in a row, not during work, then the young generation', () => {
    const p = new QuietCollectPolicy();
    expect(p.window(0.6, 120 * MiB)).toBe(null);
    expect(p.window(0.01, 120 * MiB)).toBe(null);
    expect(p.window(0.3, 120 * MiB)).toBe(null);
    expect(p.window(0.01, 120 * MiB)).toBe(null);
    expect(p.window(0.02, 120 * MiB)).toBe('full');
    p.collected(40 * MiB);
    expect(p.window(0.01, 40 * MiB)).toBe(null);
    expect(p.window(0.01, 40 * MiB)).toBe('young');
    expect(p.window(0.01, 40 * MiB)).toBe(null);
  });

  it('skips the young collection when work came back meanwhile', () => {
    const p = new QuietCollectPolicy();
    p.window(0, 70 * MiB);
    expect(p.window(0, 70 * MiB)).toBe('full');
    p.collected(40 * MiB);
    expect(p.window(0.01, 42 * MiB)).toBe(null);
    expect(p.window(0.5, 42 * MiB)).toBe(null);
    // Quiet again, the heap not grown 4 MiB: nothing (the young collection was for the quiet that followed the full).
    for (let i = 0; i < 5; i++) expect(p.window(0.01, 42 * MiB)).toBe(null);
  });

  it('collects again only after the heap has grown 4 MiB over its lowest since the last collection', () => {
    const p = new QuietCollectPolicy();
    p.window(0, 70 * MiB);
    expect(p.window(0, 70 * MiB)).toBe('full');
    p.collected(33 * MiB);
    expect(p.window(0, 33 * MiB)).toBe(null);
    expect(p.window(0, 33 * MiB)).toBe('young');
    // Idle for good: the heap creeps up a little, no collection every 10 s.
    for (let i = 0; i < 20; i++) expect(p.window(0, 35 * MiB)).toBe(null);
    // V8 shrank it on its own meanwhile: the floor follows it down.
    expect(p.window(0, 30 * MiB)).toBe(null);
    expect(p.window(0, 33.5 * MiB)).toBe(null);
    // A burst, then quiet again.
    expect(p.window(0.7, 60 * MiB)).toBe(null);
    expect(p.window(0.01, 60 * MiB)).toBe(null);
    expect(p.window(0.01, 60 * MiB)).toBe('full');
  });
});

describe('startIdleCollector in a node run with --expose-gc', () => {
  it("gives back a burst's young generation and promoted garbage once the process is quiet", () => {
    // A burst grows V8's young generation to its most (2 x 16 MiB) and promotes garbage; then the process idles,
    // allocating a little as the bot does at rest. V8 alone keeps both for minutes; the collector gives them back.
    const script = `
      import { getHeapSpaceStatistics } from 'node:v8';
      import { startIdleCollector } from ${JSON.stringify(join(import.meta.dirname, 'idle-collector.ts'))};
      const space = (n) => getHeapSpaceStatistics().find((s) => s.space_name === n);
      let keep = [], old = [];
      for (let i = 0; i < 3e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) { old.push(keep); if (old.length > 10) old.shift(); keep = []; } }
      keep = old = null;
      const before = { young: space('new_space').space_size, oldUsed: space('old_space').space_used_size };
      let collections = 0;
      startIdleCollector({ onCollect: (c) => { if (c.kind === 'full') collections++; } });
      let junk; const idle = setInterval(() => { junk = Array.from({ length: 800 }, (_, i) => ({ i })); }, 100);
      setTimeout(() => {
        clearInterval(idle);
        const after = { young: space('new_space').space_size, oldUsed: space('old_space').space_used_size };
        console.log(JSON.stringify({ before, after, collections }));
      }, 21000);
    `;
    const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..', '..'),
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    // The production windows (5 s): a full collection at ~10 s, the young one at ~20 s.
    const { before, after, collections } = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as {
      before: { young: number; oldUsed: number };
      after: { young: number; oldUsed: number };
      collections: number;
    };
    expect(before.young).toBeGreaterThanOrEqual(16 * MiB);
    expect(collections).toBe(1);
    expect(after.young).toBeLessThanOrEqual(4 * MiB);
    expect(after.oldUsed).toBeLessThan(before.oldUsed / 2);
  }, 70_000);
});

describe('startIdleCollector in a node run without --expose-gc', () => {
  it('still collects (the image run by hand, npx): the flag is set at start instead', () => {
    const script = `
      import { startIdleCollector } from ${JSON.stringify(join(import.meta.dirname, 'idle-collector.ts'))};
      const kinds = [];
      let done;
      const two = new Promise((r) => { done = r; });
      const c = startIdleCollector({
        intervalMs: 20,
        policy: { quietBelow: 1.01, quietWindows: 1, growthBytes: 0 },
        onCollect: (x) => { kinds.push(x.kind); if (kinds.length === 2) done(); },
      });
      if (c !== null) { const alive = setTimeout(() => {}, 20000); await two; clearTimeout(alive); c.stop(); }
      console.log(JSON.stringify({ kinds: c === null ? null : kinds, exposed: typeof globalThis.gc }));
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      cwd: join(import.meta.dirname, '..', '..'),
      timeout: 30_000,
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as { kinds: string[] | null; exposed?: string };
    // A full collection, then (one quiet window after it) the young one; the process's own globals stay as they were.
    expect(out).toEqual({ kinds: ['full', 'young'], exposed: 'undefined' });
  });
});
