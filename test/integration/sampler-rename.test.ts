import { beforeAll, describe, expect, it } from 'vitest';
import type { XenToolstack } from '../../src/agent/toolstack/driver.ts';
import type { DomainSample } from '../../src/core/samples.ts';
import type { FleetEvent } from '../../src/queue/fleet-events.ts';
import { samplerScene } from '../helpers/sampler.ts';

/**
 * `xl rename OLD NEW` seen by the sampler (simulator, real Redis): xentop prints neither UUID nor domain id, so the
 * sampler tells the same guest under a new name from another guest by `xl list -v` — the same UUID and domain id as
 * the name it no longer runs under had. Its samples and the history point being folded go on under the new name.
 */
// As the agent wires them: every list read tells the sampler who each guest is. A history point every 3 s: one is being
// folded when the guest is renamed.
const scene = samplerScene({ hosts: ['xen1'], heardLists: true, sampler: { historyEverySeconds: 3 } });

const sim = () => scene.env.sim.fleet;
const xen1 = () => sim().host('xen1');
/** A list of xen1 read as a job or the bot's fleet refresh reads one (the sampler hears it). */
const listXen1 = () => (scene.drivers['xen1'] as XenToolstack).list();

const about = async (t0: number, ...names: string[]) =>
  (await scene.events.since(t0)).filter((e): e is Extract<FleetEvent, { domain: string }> => 'domain' in e && names.includes(e.domain));

/** The first sample of xen1 that names `name`. */
async function firstSampleWith(name: string): Promise<DomainSample> {
  const sample = await scene.sampleOf('xen1', { naming: name });
  return sample.domains.find((x) => x.name === name) as DomainSample;
}

// The baseline (a change before it would be part of it), and a list read since, as the bot's fleet refresh reads one.
beforeAll(async () => {
  await firstSampleWith('web');
  await listXen1();
});

describe('a guest renamed on its host', () => {
  it('is one domain.renamed (web → www, its UUID), and its figures go on under the new name', async () => {
    const t0 = Date.now() - 1;
    const web = xen1().domains.find((d) => d.name === 'web');
    if (!web) throw new Error('no web');
    web.name = 'www';
    // Its first sample under the new name is measured against web's last one (xentop keeps it by domain id).
    const first = await firstSampleWith('www');
    expect(first.cpuPercent).not.toBeNull();
    await expect.poll(async () => (await about(t0, 'web', 'www')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    // Anything else said of either would come within the settle wait (400 ms here).
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await about(t0, 'web', 'www')).map(({ at: _at, ...e }) => e)).toEqual([
      { kind: 'domain.renamed', host: 'xen1', oldName: 'web', domain: 'www', uuid: web.uuid, byXenops: false },
    ]);
    // The point folded across the rename holds www alone: web's samples of it went on under www, not a line that ends.
    await expect
      .poll(async () => (await scene.samples.history('xen1', t0)).some((p) => 'www' in p.domains), { timeout: 10_000 })
      .toBe(true);
    const since = (await scene.samples.history('xen1', t0)).filter((p) => 'www' in p.domains);
    expect(since.every((p) => !('web' in p.domains))).toBe(true);
  }, 30_000);

  it('never takes a guest destroyed and another created with its UUID (a new domain id) for one renamed', async () => {
    const t0 = Date.now() - 1;
    const www = xen1().domains.find((d) => d.name === 'www');
    if (!www) throw new Error('no www');
    sim().removeDomain(xen1(), www);
    // A config copied with its uuid line: the same UUID, but a new domain, with an id of its own.
    const copy = sim().addDomain(xen1(), { name: 'www-copy', memoryMiB: 512, vcpus: 1, flags: '-b----', uuid: www.uuid });
    expect(copy.id).not.toBe(www.id);
    await expect.poll(async () => (await about(t0, 'www', 'www-copy')).length, { timeout: 10_000 }).toBe(2);
    expect((await about(t0, 'www', 'www-copy')).map((e) => `${e.kind} ${e.domain}`).sort()).toEqual([
      'domain.appeared www-copy',
      'domain.vanished www',
    ]);
  }, 30_000);

  it("is still one domain.renamed when a job's list is read between the rename and the sample that sees it", async () => {
    const t0 = Date.now() - 1;
    const copy = xen1().domains.find((d) => d.name === 'www-copy');
    if (!copy) throw new Error('no www-copy');
    copy.name = 'www2';
    // A /list (or the bot's fleet refresh) right after: it shows www2 only, and must not make the sampler forget who
    // www-copy was before the sampler has seen the rename.
    await listXen1();
    await expect.poll(async () => (await about(t0, 'www-copy', 'www2')).length, { timeout: 10_000 }).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1_500));
    expect((await about(t0, 'www-copy', 'www2')).map((e) => e.kind)).toEqual(['domain.renamed']);
  }, 30_000);
});
