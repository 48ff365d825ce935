import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/schema.ts';
import { safeFileName, saveAttachments } from './attachments.ts';
import { TerminalAdapter } from './index.ts';

const AT = Date.UTC(2026, 7, 1, 12, 0, 0, 123);
const tmp = () => mkdtempSync(join(tmpdir(), 'xenops-attachments-'));
const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0xff, 0x00]);

describe('safeFileName', () => {
  it('keeps names inside the directory: no separators, no "..", no leading dot', () => {
    expect(safeFileName('xen1-info.txt')).toBe('xen1-info.txt');
    expect(safeFileName('../../etc/passwd')).toBe('etc-passwd');
    expect(safeFileName('..\\..\\boot.ini')).toBe('boot.ini');
    expect(safeFileName('.bashrc')).toBe('bashrc');
    expect(safeFileName('a b/c:d.png')).toBe('a-b-c-d.png');
    expect(safeFileName('..')).toBe('attachment');
    expect(safeFileName('')).toBe('attachment');
    expect(safeFileName('x..y')).toBe('x.y');
  });

  it('cuts long names to 100 characters and keeps the extension', () => {
    const name = safeFileName(`${'a'.repeat(300)}.png`);
    expect(name).toHaveLength(100);
    expect(name.endsWith('a.png')).toBe(true);
  });
});

describe('saveAttachments', () => {
  it('writes <timestamp>-<safe name> in the directory and says where, with the size', async () => {
    const cwd = tmp();
    const lines = await saveAttachments(
      'var/attachments',
      [
        { name: 'xen1-info.txt', contentType: 'text/plain', data: 'total_memory : 4096\n', description: 'full xl info' },
        { name: '../../escape.png', contentType: 'image/png', data: PNG },
      ],
      { now: AT, cwd },
    );
    expect(lines).toEqual([
      '[attachment: var/attachments/2026-08-01T12-00-00-123Z-xen1-info.txt (20 bytes)] full xl info',
      '[attachment: var/attachments/2026-08-01T12-00-00-123Z-escape.png (14 bytes)]',
    ]);
    expect(readdirSync(cwd)).toEqual(['var']);
    expect(readFileSync(join(cwd, 'var/attachments/2026-08-01T12-00-00-123Z-xen1-info.txt'), 'utf8')).toBe('total_memory : 4096\n');
    expect([...readFileSync(join(cwd, 'var/attachments/2026-08-01T12-00-00-123Z-escape.png'))]).toEqual([...PNG]);
  });

  it('never overwrites: the same name in the same millisecond gets -2, -3', async () => {
    const dir = tmp();
    const a = { name: 'chart.png', contentType: 'image/png', data: PNG };
    const lines = await saveAttachments(dir, [a, a, a], { now: AT });
    expect(readdirSync(dir).sort()).toEqual([
      '2026-08-01T12-00-00-123Z-chart-2.png',
      '2026-08-01T12-00-00-123Z-chart-3.png',
      '2026-08-01T12-00-00-123Z-chart.png',
    ]);
    // Outside the working directory the path is shown absolute.
    expect(lines[1]).toBe(`[attachment: ${join(dir, '2026-08-01T12-00-00-123Z-chart-2.png')} (14 bytes)]`);
  });

  it('says so instead of throwing when the directory cannot be written', async () => {
    const cwd = tmp();
    writeFileSync(join(cwd, 'blocked'), 'a file where the directory should be');
    const lines = await saveAttachments('blocked/attachments', [{ name: 'x.txt', contentType: 'text/plain', data: 'abc' }], { cwd });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[attachment x\.txt \(3 bytes\) could not be saved in blocked\/attachments: .*(ENOTDIR|EEXIST).*\]$/);
  });
});

describe('TerminalAdapter attachments', () => {
  it('saves a reply’s attachments to attachmentsDir and prints their paths', async () => {
    const dir = tmp();
    const output = new PassThrough();
    let written = '';
    output.on('data', (d: Buffer) => {
      written += d.toString();
    });
    const adapter = new TerminalAdapter({
      config: { terminal: { defaultUser: 'alice' } } as Config,
      input: new PassThrough(),
      output,
      attachmentsDir: dir,
    });
    await adapter.post('terminal', {
      kind: 'result',
      tone: 'info',
      title: 'xen1 last hour',
      blocks: [{ type: 'text', text: 'web  ▃▄▅' }],
      attachments: [{ name: 'xen1 cpu.png', contentType: 'image/png', data: PNG, description: 'CPU and memory' }],
    });
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d-\d{3}Z-xen1-cpu\.png$/);
    const shown = relative(process.cwd(), join(dir, files[0] ?? ''));
    const path = shown.startsWith('..') ? join(dir, files[0] ?? '') : shown;
    expect(written).toBe(`ℹ xen1 last hour\nweb  ▃▄▅\n[attachment: ${path} (14 bytes)] CPU and memory\n`);
    expect([...readFileSync(join(dir, files[0] ?? ''))]).toEqual([...PNG]);
  });
});
