import { describe, expect, it } from 'vitest';
import { renderDiscord } from '../src/adapters/discord/render.ts';
import { renderTelegram } from '../src/adapters/telegram/render.ts';
import type { FleetChange } from '../src/core/changes.ts';
import { renderContext } from '../src/core/define-command.ts';
import { describeFreeze } from '../src/core/freeze.ts';
import { answered, failed, NOW, textOf } from '../test/helpers/status-outcomes.ts';
import { status } from './status.ts';

describe('a scheduled status post of 1,000 hosts on a bad day', () => {
  it('GIVEN hosts down, frozen, unsampled, with unread lines and changes all at once THEN still one message on both platforms', () => {
    const fleet = Array.from({ length: 1000 }, (_, i) => {
      const h = `xen${String(i).padStart(4, '0')}.dc1.example.org`;
      if (i < 25)
        return failed(
          h,
          { code: 'transport', message: `cannot connect to ${h} (10.20.30.${i}:22): connect ETIMEDOUT` },
          { agent: { where: '31337@agent-1.example.org', seenAgoMs: 4 * 3_600_000, alive: false } },
        );
      const frozen =
        i < 60
          ? describeFreeze({
              host: h,
              by: `operator${i}`,
              reason: `disk swap in rack ${i} before the vendor visit`,
              since: NOW,
              until: null,
            })
          : null;
      return answered(
        h,
        {
          domainsByStatus: { running: 18, paused: 1, crashed: 1 },
          totalMemoryMiB: 1_048_576,
          freeMemoryMiB: 65_536,
          busiest: [{ name: `${h.slice(0, 7)}-database-primary`, cpuPercent: 50 + (i % 40), memoryKiB: 64 * 1_048_576 }],
          sampledAt: i < 200 ? null : NOW - 4_000,
          ...(i < 200 ? { samplingOff: true as const } : {}),
          ...(i < 120
            ? {
                notes: [
                  `could not read this line of xl list: "${h.slice(0, 7)}-web-frontend-with-a-long-name  7  1024  2  -b----  12.5  extra-column"`,
                ],
              }
            : {}),
        },
        { agent: { where: '31337@agent-1.example.org', seenAgoMs: 1_000, alive: true }, frozen },
      );
    });
    const changes: FleetChange[] = Array.from({ length: 60 }, (_, i) => ({
      kind: 'crashed',
      host: `xen${String(i).padStart(4, '0')}.dc1.example.org`,
      domain: `database-replica-${i}`,
    }));
    const r = status.render(fleet, {}, renderContext({ now: NOW, changes, changesSince: NOW - 300_000 }));
    expect(renderTelegram(r).documents).toEqual([]);
    expect(renderDiscord(r).files).toEqual([]);
    // Fewer rows of each part, and what is left out counted: nothing passes for the whole.
    const t = textOf(r);
    expect(t).toMatch(/^1000 hosts: 975 up, 25 not answering; /m);
    expect(t).toMatch(/^… and \d+ more hosts needing attention$/m);
    expect(t).toMatch(/^… and \d+ more$/m);
    expect(t).toMatch(/^⚠ … and \d+ more notes of what could not be read, from \d+ hosts$/m);
    expect(t).toMatch(/^❄ … and \d+ more hosts frozen$/m);
    expect(t).toContain('Sampling is off in the agent config of 175 hosts');
  });

  it('GIVEN a small fleet whose host table alone would not fit THEN the summary and the hosts needing attention instead', () => {
    const fleet = Array.from({ length: 20 }, (_, i) => {
      const h = `xen${String(i).padStart(4, '0')}.dc1.example.org`;
      return i % 2
        ? failed(h, { code: 'transport', message: `cannot connect to ${h} (10.20.30.${i}:22): connect ETIMEDOUT` })
        : answered(
            h,
            { domainsByStatus: { running: 18, paused: 1, crashed: 1 } },
            { agent: { where: '31337@agent-1.example.org', seenAgoMs: 1_000, alive: true } },
          );
    });
    const r = status.render(fleet, {}, renderContext({ now: NOW }));
    expect(renderTelegram(r).documents).toEqual([]);
    expect(renderDiscord(r).files).toEqual([]);
    expect(textOf(r)).toMatch(/^20 hosts: 10 up, 10 not answering; /m);
    const attention = r.blocks.find((b) => b.type === 'table' && b.caption === 'Hosts needing attention');
    expect(attention?.type === 'table' && attention.table.rows.map((row) => row[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => `xen${String(2 * i + 1).padStart(4, '0')}.dc1.example.org`),
    );
  });

  it('GIVEN a small fleet that fits THEN a row per host, as before', () => {
    const r = status.render([answered('xen1'), answered('xen2')], {}, renderContext({ now: NOW }));
    const hosts = r.blocks.find((b) => b.type === 'table' && b.table.columns[0] === 'host');
    expect(hosts?.type === 'table' && hosts.table.rows.map((row) => row[0])).toEqual(['xen1', 'xen2']);
  });
});
