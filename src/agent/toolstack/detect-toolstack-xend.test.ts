import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { detectToolstack } from './driver.ts';

/**
 * Xen 4.0–4.4 ship xl beside xm. `xl info` changes nothing, so it answers while xend runs (xl refuses only the
 * commands that modify: "xend is running, which may cause unpredictable results when using this xl command"), and on
 * such a host xend is the toolstack: it made the domains, xl keeps no config of them. xend was removed in Xen 4.5.
 */
const XEND_DOWN: RunResult = {
  code: 1,
  stdout: '',
  stderr: 'Error: Unable to connect to xend: No such file or directory. Is xend running?\n',
};

function host(answers: Record<string, RunResult>) {
  const calls: string[] = [];
  const runner: RemoteRunner = {
    run: async (_host, words) => {
      const line = words.join(' ');
      calls.push(line);
      return answers[line] ?? { code: 127, stdout: '', stderr: `bash: line 1: ${words[0]}: command not found\n` };
    },
  };
  return { runner, calls };
}

describe('toolstack: auto on a host with both xl and xm', () => {
  it('GIVEN Xen 4.4 (OVM) where xl info and xm info both answer (xend runs) THEN xm', async () => {
    const info = fixture('xm-info__exabox-ovm-xen-4.4.4OVM.txt');
    const { runner, calls } = host({ 'xl info': { code: 0, stdout: info, stderr: '' }, 'xm info': { code: 0, stdout: info, stderr: '' } });
    expect(await detectToolstack(runner, 'ovm1')).toBe('xm');
    expect(calls).toEqual(['xl info', 'xm info']);
  });

  it('GIVEN Xen 4.0.1 where xend runs THEN xm', async () => {
    const info = fixture('xl-info__ganeti-xen-4.0.1.txt');
    const { runner } = host({ 'xl info': { code: 0, stdout: info, stderr: '' }, 'xm info': { code: 0, stdout: info, stderr: '' } });
    expect(await detectToolstack(runner, 'node1')).toBe('xm');
  });

  it('GIVEN Xen 4.0.1 with xend stopped (xm info cannot connect) THEN xl', async () => {
    const info = fixture('xl-info__ganeti-xen-4.0.1.txt');
    const { runner, calls } = host({ 'xl info': { code: 0, stdout: info, stderr: '' }, 'xm info': XEND_DOWN });
    expect(await detectToolstack(runner, 'node1')).toBe('xl');
    expect(calls).toEqual(['xl info', 'xm info']);
  });

  it('GIVEN Xen 4.18 (no xend since 4.5) THEN xl, without asking xm', async () => {
    const info = fixture('xl-info__xensifter-test-xen-4.18.0.txt');
    const { runner, calls } = host({ 'xl info': { code: 0, stdout: info, stderr: '' }, 'xm info': { code: 0, stdout: info, stderr: '' } });
    expect(await detectToolstack(runner, 'xen1')).toBe('xl');
    expect(calls).toEqual(['xl info']);
  });
});
