import { describe, expect, it } from 'vitest';
import { domainSummary as dom } from '../../test/helpers/domains.ts';
import { pipelineScene } from '../../test/helpers/pipeline-scene.ts';
import { chatRequest } from '../../test/helpers/requests.ts';
import { FleetCache } from '../app/fleet-cache.ts';
import { dom0ConsoleRefusal } from './console-snapshot.ts';
import { DOM0_NAME } from './names.ts';
import { decide, type Rejection } from './pipeline.ts';

/**
 * Xen gives every host's Domain-0 the nil UUID (`xl list -v`), so with two hosts or more that UUID names a domain on
 * each: not "no domain with UUID …", but what a name found on several hosts gets — or the command's own refusal of
 * Domain-0.
 */
const NIL = '00000000-0000-0000-0000-000000000000';
const WEB = '6c7f0f2e-1b1a-4c55-9e0e-6f1d2b3c4d5e';
const { ctx } = pipelineScene(['xen1', 'xen2']);
const fleet = new FleetCache(['xen1', 'xen2']);
fleet.update('xen1', [dom(DOM0_NAME, 'running', NIL), dom('web', 'running', WEB)]);
fleet.update('xen2', [dom(DOM0_NAME, 'running', NIL), dom('files', 'running')]);

const req = (text: string) => chatRequest('r1', text);

/** Decided on the view as the hosts answered it (refreshed), as after a lookup. */
const refusal = (text: string): string => {
  const d = decide(ctx, req(text), fleet, true);
  expect(d.kind).toBe('reject');
  return (d as Rejection).reason;
};

describe("Domain-0's nil UUID with two hosts", () => {
  it('GIVEN /console of it THEN the console refusal of Domain-0, not "no domain with UUID"', () => {
    expect(refusal(`console ${NIL}`)).toBe(`Cannot do that: ${dom0ConsoleRefusal()}`);
  });

  it('GIVEN /console of it on the cached view THEN it is refused at once (no lookup: it is on every host)', () => {
    expect(decide(ctx, req(`console ${NIL}`), fleet, false)).toMatchObject({ kind: 'reject' });
  });

  it('GIVEN /show of it THEN it is named as Domain-0 on each host, asking which', () => {
    expect(refusal(`show ${NIL}`)).toBe(
      `Cannot do that: the domain with UUID ${NIL} is ${DOM0_NAME}, on xen1 and xen2; say which: xen1:${DOM0_NAME} or xen2:${DOM0_NAME}`,
    );
  });

  it('GIVEN /stop of it THEN the refusal of Domain-0 as a target', () => {
    expect(refusal(`stop ${NIL}`)).toBe(`Cannot do that: ${DOM0_NAME} is the host's own domain: /stop cannot target it`);
  });

  it('GIVEN a guest UUID found once THEN it still resolves', () => {
    expect(decide(ctx, req(`show ${WEB}`), fleet, true)).toMatchObject({ kind: 'enqueue', targets: [{ host: 'xen1', domain: 'web' }] });
  });
});
