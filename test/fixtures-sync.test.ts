import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FIXTURE_DIR } from './helpers/fixtures.ts';

const SHARED = join(import.meta.dirname, '..', '..', 'shared', 'xen-samples');

describe.skipIf(!existsSync(SHARED))('test/fixtures/xen', () => {
  it('holds every shared sample byte for byte, so no sample goes untested', () => {
    for (const name of readdirSync(SHARED)) {
      expect(existsSync(join(FIXTURE_DIR, name)), `${name} is missing from test/fixtures/xen`).toBe(true);
      expect(readFileSync(join(FIXTURE_DIR, name)).equals(readFileSync(join(SHARED, name))), `${name} differs`).toBe(true);
    }
  });
});
