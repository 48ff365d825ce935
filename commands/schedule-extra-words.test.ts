import { describe, expect, it } from 'vitest';
import { demoChat } from '../test/helpers/stack.ts';

/**
 * `/schedule list extra`, `/schedule list tz:UTC` and `/schedule remove ID channel:…` listed or removed as if the rest
 * were not there: a word typed is never silently ignored (the parser refuses `/whoami foo`), so neither here.
 */
const chat = demoChat();

describe('/schedule list and remove with words they do not take', () => {
  it.each([
    ['/schedule list extra', '/schedule list takes nothing more: "extra"'],
    ['/schedule list tz:UTC', '/schedule list takes nothing more: tz:'],
    ['/schedule list mode:edit', '/schedule list takes nothing more: mode:'],
    ['/schedule remove S7K2QM channel:ops', '/schedule remove takes only the id: channel:'],
    ['/schedule remove S7K2QM tz:UTC', '/schedule remove takes only the id: tz:'],
  ])('%s is refused, with the usage', async (line, reason) => {
    const said = await chat.say(line);
    expect(said).toContain(`✖ Bad arguments for /schedule\n${reason}\n`);
    expect(said).toContain('/schedule list\n');
    expect(said).not.toContain('No schedules');
  });

  it('/schedule list alone still lists', async () => {
    expect(await chat.say('/schedule list')).not.toContain('Bad arguments');
  });
});
