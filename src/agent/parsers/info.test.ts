import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { memoryFromInfo, parseInfo } from './info.ts';

describe('parseInfo', () => {
  it('reads xm info on OVM (empty xen_changeset, trailing space after xen_caps)', () => {
    const info = parseInfo(fixture('xm-info__exabox-ovm-xen-4.4.4OVM.txt'));
    expect(Object.keys(info)).toHaveLength(28);
    expect(info).toMatchObject({
      host: 'scas22adm05.us.oracle.com',
      version: '#2 SMP Mon Jul 27 20:10:45 PDT 2020',
      nr_cpus: '72',
      hw_caps: 'bfebfbff:2c100800:00000000:41707f00:77fefbff:00000000:00000021:000037ab',
      total_memory: '262010',
      free_memory: '131462',
      xen_extra: '.4OVM',
      xen_caps: 'xen-3.0-x86_64 xen-3.0-x86_32p hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64',
      xen_changeset: '',
      cc_compile_date: 'Wed Aug 26 10:23:59 PDT 2020',
      xend_config_format: '4',
    });
  });

  it('reads xl info 4.0.1 (ganeti): empty virt_caps, node_to_* keys with colons in values', () => {
    const info = parseInfo(fixture('xl-info__ganeti-xen-4.0.1.txt'));
    expect(info).toMatchObject({
      virt_caps: '',
      node_to_cpu: 'node0:0-3',
      node_to_memory: 'node0:8004',
      cpu_mhz: '2800',
      xen_minor: '0',
      xen_extra: '.1',
    });
    expect(memoryFromInfo(info)).toEqual({ totalMiB: 16378, freeMiB: 8004 });
  });

  it('reads xl info 4.18 (xensifter): fractional cpu_mhz, xen_version, indented tail line ignored', () => {
    const info = parseInfo(fixture('xl-info__xensifter-test-xen-4.18.0.txt'));
    expect(info).toMatchObject({
      cpu_mhz: '2494.141',
      xen_version: '4.18.0',
      xen_scheduler: 'credit2',
      xen_changeset: '',
      build_id: '3c0e18caf113475da6ee3d76048a0aad7fcd4942',
    });
    expect(info['xen_commandline']).toContain('cpufreq=hwp:hdc=0;xen:performance,verbose');
    expect(Object.keys(info)).toHaveLength(33);
  });

  it('falls back to the old xm "memory" key', () => {
    expect(memoryFromInfo(parseInfo('memory : 4096\nfree_memory : 100\n'))).toEqual({ totalMiB: 4096, freeMiB: 100 });
    expect(memoryFromInfo({})).toEqual({ totalMiB: null, freeMiB: null });
  });
});
