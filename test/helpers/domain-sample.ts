import type { DomainSample } from '../../src/core/samples.ts';

/** A guest's row of a sample as the agents write it: idle (`--b---`), 1 % CPU, 1 MiB, one vCPU; `over` changes any. */
export function domainSample(name: string, over: Partial<DomainSample> = {}): DomainSample {
  return {
    name,
    state: '--b---',
    cpuPercent: 1,
    cpuSeconds: 1,
    memoryKiB: 1024,
    maxMemoryKiB: null,
    vcpus: 1,
    netTxKiBps: null,
    netRxKiBps: null,
    vbdRdPerSec: null,
    vbdWrPerSec: null,
    ...over,
  };
}
