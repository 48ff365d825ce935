import type { DomainSummary } from '../../src/core/xen.ts';

/** A domain as `xl list` and its config dir give it to the fleet cache: running (`-b----`, domid 1) or only defined. */
export function domainSummary(name: string, status: DomainSummary['status'], uuid: string | null = null): DomainSummary {
  return {
    name,
    uuid,
    id: status === 'defined' ? null : 1,
    status,
    flags: status === 'defined' ? '' : '-b----',
    memoryMiB: 512,
    vcpus: 1,
    cpuSeconds: 0,
    configPath: `/etc/xen/vm/${name}.cfg`,
  };
}
