import { describe, expect, it } from 'vitest';
import { fixture } from '../../../test/helpers/fixtures.ts';
import { ParseError } from '../../core/errors.ts';
import { parseXlListLong } from './list-long.ts';

describe('parseXlListLong', () => {
  it('reads a bare libxl domain config (libvirt fixture, TAB in indentation)', () => {
    expect(parseXlListLong(fixture('libxl-domain-config-json-pv__libvirt-libxlxml2domconfig.json'))).toEqual([
      {
        domid: null,
        name: 'test-pv',
        uuid: '039e9ee6-4a84-3055-4c81-8ba426ae2656',
        type: 'pv',
        maxVcpus: 4,
        maxMemKiB: 524288,
        targetMemKiB: 524288,
        disks: [{ vdev: 'xvda', target: '/var/lib/xen/images/test-pv.img' }],
        nics: [{ mac: '00:16:3e:3e:86:60', bridge: 'br0' }],
      },
    ]);
  });

  it('reads the xl list -l array shape with missing fields as null', () => {
    const text = JSON.stringify([{ domid: 7, config: { c_info: { name: 'web' } } }, { domid: 0 }]);
    expect(parseXlListLong(text)).toEqual([
      { domid: 7, name: 'web', uuid: null, type: null, maxVcpus: null, maxMemKiB: null, targetMemKiB: null, disks: [], nics: [] },
      { domid: 0, name: null, uuid: null, type: null, maxVcpus: null, maxMemKiB: null, targetMemKiB: null, disks: [], nics: [] },
    ]);
  });

  it('refuses SXP output with a hint', () => {
    expect(() => parseXlListLong(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'))).toThrow(ParseError);
    expect(() => parseXlListLong(fixture('xm-list-long-sxp__ganeti-xen-4.0.1.txt'))).toThrow(/output_format="sxp"/);
  });
});
