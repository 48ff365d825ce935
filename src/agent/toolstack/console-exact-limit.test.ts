import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simToolstack } from '../../../test/helpers/drivers.ts';
import { type SimEnv, startSimEnv, twoHostFleet } from '../../../test/helpers/sim.ts';
import { CONSOLE_READ_BYTES } from '../../core/console-snapshot.ts';
import { consoleLogPath } from '../../sim/model.ts';
import type { SshPool } from '../ssh/pool.ts';

/**
 * A console log of exactly the read limit (256 KiB) is read whole: its first line is complete, not a line the read
 * began inside of — it is neither dropped nor marked as cut, and the reply does not say the read stopped. One byte
 * more and it is. Real simulator over SSH.
 */
let env: SimEnv;
let pool: SshPool;

beforeAll(async () => {
  env = await startSimEnv({ fleet: twoHostFleet() });
  pool = env.pool();
});
afterAll(async () => {
  await env.stop();
});

function setLog(text: string, rotated?: string): void {
  const files = env.sim.fleet.host('xen1').files;
  files.set(consoleLogPath('web'), text);
  if (rotated === undefined) files.delete(`${consoleLogPath('web')}.1`);
  else files.set(`${consoleLogPath('web')}.1`, rotated);
}

/** `count` lines of 128 bytes each (line end included): "0000:xxx…". */
function log(count: number): string {
  return Array.from({ length: count }, (_, i) => `${String(i).padStart(4, '0')}:${'x'.repeat(122)}\n`).join('');
}

describe('/console of a log of exactly the read limit', () => {
  it('all of it is shown, its first line whole, and the read is not said to have stopped', async () => {
    const text = log(CONSOLE_READ_BYTES / 128);
    expect(Buffer.byteLength(text)).toBe(CONSOLE_READ_BYTES);
    setLog(text);
    const result = await simToolstack(pool, 'xen1').consoleSnapshot('web', 2048);
    // Was: 2047 lines, "0000:…" dropped as the partial line of a read that filled its window, and readLimitBytes set.
    expect(result.lines).toHaveLength(2048);
    expect(result.lines[0]).toBe(`0000:${'x'.repeat(122)}`);
    expect(result.lines.at(-1)).toMatch(/^2047:x{122}$/);
    expect(result.readLimitBytes).toBeUndefined();
    expect(result.longLines).toBeUndefined();
  });

  it('exactly the limit and all one line: kept whole (cut at the line limit as any long line), not "earlier characters not read"', async () => {
    setLog(`${'A'.repeat(CONSOLE_READ_BYTES - 1)}\n`);
    const result = await simToolstack(pool, 'xen1').consoleSnapshot('web', 20);
    expect(result.lines).toHaveLength(1);
    expect(result.lines[0]).toMatch(/^A{1000} … \[261,143 more characters\]$/);
    expect(result.readLimitBytes).toBeUndefined();
  });

  it('exactly the limit, more lines asked and an older rotated log: nothing of it fits, and the reply says the read stopped', async () => {
    setLog(log(CONSOLE_READ_BYTES / 128), 'older boot\n');
    const result = await simToolstack(pool, 'xen1').consoleSnapshot('web', 3000);
    expect(result.lines).toHaveLength(2048);
    expect(result.lines[0]).toMatch(/^0000:x{122}$/);
    expect(result.readLimitBytes).toBe(CONSOLE_READ_BYTES);
  });

  it('one byte more than the limit: the read began inside the first line, which is dropped, and says so', async () => {
    setLog(`y${log(CONSOLE_READ_BYTES / 128)}`);
    const result = await simToolstack(pool, 'xen1').consoleSnapshot('web', 2048);
    expect(result.lines).toHaveLength(2047);
    expect(result.lines[0]).toMatch(/^0001:x{122}$/);
    expect(result.readLimitBytes).toBe(CONSOLE_READ_BYTES);
  });
});
