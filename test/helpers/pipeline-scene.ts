import { COMMANDS } from '../../commands/index.ts';
import { Config } from '../../src/config/schema.ts';
import type { PipelineContext } from '../../src/core/pipeline.ts';

const fp = (c: string) => `SHA256:${c.repeat(43)}`;

/**
 * For pure-pipeline tests: a config of `hosts` (test addresses, pinned keys; none is dialled), the terminal open, and
 * one person holding `allow` (default everything), with the context the real commands make.
 */
export function pipelineScene(
  hosts: readonly string[],
  person: { id: string; allow: string[] } = { id: 'alice', allow: ['*'] },
): { config: Config; ctx: PipelineContext } {
  const config = Config.parse({
    hosts: Object.fromEntries(
      hosts.map((h, i) => [h, { address: `10.0.0.${i + 1}`, privateKeyPath: '/k', hostKey: fp(String.fromCharCode(65 + i)) }]),
    ),
    roles: { tested: { allow: person.allow } },
    people: { [person.id]: { roles: ['tested'], identities: { terminal: person.id } } },
    channels: [{ platform: 'terminal', id: '*' }],
  });
  return { config, ctx: { config, commands: new Map(COMMANDS.map((c) => [c.name, c])) } };
}
