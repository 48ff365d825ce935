import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../src/adapters/discord/render.ts';
import { renderTelegram } from '../src/adapters/telegram/render.ts';
import { type HostOutcome, renderContext } from '../src/core/define-command.ts';
import { describeFreeze } from '../src/core/freeze.ts';
import { answered, NOW, textOf as text } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

const WINDOW_END = Date.UTC(2026, 10, 25, 14, 0, 0);

function host(name: string, frozen: string | null): HostOutcome<'host.status'> {
  return answered(
    name,
    {
      domainsByStatus: { running: 20 },
      totalMemoryMiB: 262_144,
      busiest: [{ name: `${name}-web`, cpuPercent: 12, memoryKiB: 4_194_304 }],
      sampledAt: NOW - 2_000,
    },
    { agent: { where: '31337@agent-1.example.org', seenAgoMs: 1_000, alive: true }, frozen },
  );
}

const window = (h: string) =>
  describeFreeze({ host: h, by: 'maintenance window', reason: 'weekly kernel patching', since: NOW - 3_600_000, until: WINDOW_END });

describe('a status post of a fleet that a maintenance window freezes whole', () => {
  it('GIVEN 1,000 hosts all frozen by one window THEN one message on Discord and Telegram, the freeze said once with the count', () => {
    const r = status.render(
      Array.from({ length: 1000 }, (_, i) => host(`xen${i}`, window(`xen${i}`))),
      {},
      renderContext({ now: NOW }),
    );
    expect(renderDiscord(r).files).toEqual([]);
    expect(renderTelegram(r).documents).toEqual([]);
    expect(text(r)).toContain(
      '❄ 1000 hosts (xen0, xen1, xen2, xen3, xen4 and 995 more) are frozen until 2026-11-25 14:00 UTC (maintenance window: weekly kernel patching) — reads go on; mutating commands are refused until the window closes',
    );
  });

  it('GIVEN 30 hosts each frozen by someone for a reason of its own THEN some are said and the rest counted', () => {
    const r = status.render(
      Array.from({ length: 100 }, (_, i) =>
        host(
          `xen${i}`,
          i < 30 ? describeFreeze({ host: `xen${i}`, by: 'alice', reason: `disk swap ${i}`, since: NOW, until: null }) : null,
        ),
      ),
      {},
      renderContext({ now: NOW }),
    );
    expect(renderDiscord(r).files).toEqual([]);
    expect(renderTelegram(r).documents).toEqual([]);
    expect(text(r)).toContain('❄ xen0 is frozen until /unfreeze (alice: disk swap 0)');
    expect(text(r)).toContain('❄ … and 25 more hosts frozen');
  });

  it('GIVEN a small fleet with one host frozen THEN its line is as before', () => {
    const t = text(status.render([host('xen1', window('xen1')), host('xen2', null)], {}, renderContext({ now: NOW })));
    expect(t).toContain(`❄ ${window('xen1')}`);
  });
});
