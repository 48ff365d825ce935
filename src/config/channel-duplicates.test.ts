import { describe, expect, it } from 'vitest';
import { checkConfigText } from './load.ts';

/** One entry per channel: only the first is ever looked up, so a second one did nothing, silently. */
const FP = 'SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s';
const base = `hosts:\n  xen1: { address: 10.0.0.1, privateKeyPath: /k, hostKey: "${FP}" }\n`;

describe('a channel listed twice', () => {
  it('is refused, naming the first entry (the second, narrowing it to read commands, was ignored)', () => {
    const text = `${base}channels:\n  - { platform: discord, id: "300000000000000002" }\n  - { platform: discord, id: "300000000000000002", commands: [read] }\n`;
    const r = checkConfigText(text, {});
    expect(r.config).toBeNull();
    expect(r.issues).toEqual([
      { path: 'channels[1]', message: 'discord channel "300000000000000002" is listed already (channels[0]): merge the two' },
    ]);
  });

  it('is found when one entry writes the id as a number and the other as text', () => {
    const r = checkConfigText(`${base}channels:\n  - { platform: telegram, id: -100123 }\n  - { platform: telegram, id: "-100123" }\n`, {});
    expect(r.issues.map((i) => i.path)).toEqual(['channels[1]']);
  });

  it('the same id on two platforms, and `*` beside a channel, are no duplicates', () => {
    const text = `${base}channels:\n  - { platform: discord, id: "1" }\n  - { platform: telegram, id: 1 }\n  - { platform: discord, id: "*" }\n`;
    expect(checkConfigText(text, {}).issues).toEqual([]);
  });
});
