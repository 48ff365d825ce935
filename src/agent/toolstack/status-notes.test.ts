import { describe, expect, it } from 'vitest';
import { XL_DOM0_ROW, XL_LIST_V_HEADER } from '../../../test/helpers/xl-list.ts';
import type { RemoteRunner, RunResult } from '../ssh/types.ts';
import { XenToolstack } from './driver.ts';

/** /status's read of a host whose list prints a line of a shape nobody expected (real hosts do): said, not dropped. */
const odd = 'web   7   1024   2   ?????   12.5';

describe('the host status (xl info and xl list in one round trip)', () => {
  it('says which list lines it could not read, rather than counting without them in silence', async () => {
    const runner: RemoteRunner = {
      run: async (_host, words): Promise<RunResult> => {
        const cmd = words.join(' ');
        if (cmd === 'xl list -v') return { code: 0, stdout: `${XL_LIST_V_HEADER}\n${XL_DOM0_ROW}\n${odd}\n`, stderr: '' };
        if (cmd === 'xl info')
          return { code: 0, stdout: 'host : xen1\nnr_cpus : 4\ntotal_memory : 8191\nxen_major : 4\nxen_version : 4.17.3\n', stderr: '' };
        if (words[0] === 'ls') return { code: 2, stdout: '', stderr: `ls: cannot access '${words.at(-1)}': No such file or directory\n` };
        throw new Error(`unexpected ${cmd}`);
      },
    };
    const ts = new XenToolstack('xl', runner, {
      name: 'xen1',
      configDirs: ['/etc/xen/vm'],
      consoleLogDir: '/var/log/xen/console',
      shutdownTimeoutSeconds: 5,
    });
    const { domains, notes } = await ts.infoAndList();
    expect(domains.map((d) => d.name)).toEqual(['Domain-0']);
    expect(notes).toEqual([`could not read this line of xl list: ${JSON.stringify(odd)}`]);
  });
});
