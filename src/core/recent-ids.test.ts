import { describe, expect, it } from 'vitest';
import { RecentIds } from './recent-ids.ts';

describe('RecentIds', () => {
  it('remembers an id for at least one window and forgets it after two', () => {
    let t = 0;
    const ids = new RecentIds(1_000, () => t);
    ids.add('a');
    t = 999;
    ids.tick();
    expect(ids.has('a')).toBe(true);
    t = 1_000;
    ids.tick();
    expect(ids.has('a')).toBe(true);
    ids.add('b');
    t = 2_000;
    ids.tick();
    expect(ids.has('a')).toBe(false);
    expect(ids.has('b')).toBe(true);
    t = 3_000;
    ids.tick();
    expect(ids.has('b')).toBe(false);
    expect(ids.size).toBe(0);
  });

  it('drops both generations after two windows with no rotation', () => {
    let t = 0;
    const ids = new RecentIds(1_000, () => t);
    ids.add('a');
    t = 2_500;
    ids.tick();
    expect(ids.has('a')).toBe(false);
    expect(ids.size).toBe(0);
  });

  it('holds nothing at rest once ticked twice a window apart', () => {
    let t = 0;
    const ids = new RecentIds(1_000, () => t);
    for (let i = 0; i < 10_000; i++) ids.add(`r${i}`);
    expect(ids.size).toBe(10_000);
    t = 1_000;
    ids.tick();
    t = 2_000;
    ids.tick();
    expect(ids.size).toBe(0);
  });
});

describe('RecentIds, near a rotation', () => {
  it('keeps an id added just before a rotation for a whole window after it was added', () => {
    let t = 0;
    const ids = new RecentIds(1_000, () => t);
    t = 999;
    ids.add('late');
    t = 1_500;
    ids.tick();
    expect(ids.has('late')).toBe(true);
    t = 1_998;
    ids.tick();
    expect(ids.has('late')).toBe(true);
  });
});
