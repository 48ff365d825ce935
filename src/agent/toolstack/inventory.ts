import { posix } from 'node:path';
import type { AutostartEntry } from '../../core/xen.ts';
import { type LsListing, parseLsLong, plainNames } from '../parsers/autostart.ts';
import type { RunResult } from '../ssh/types.ts';
import { AUTOSTART_DIR, cfgName } from './argv.ts';

/** What the config dirs and /etc/xen/auto say about the host's defined domains. */
export interface ConfigInventory {
  /** Domain name → its config file (the first config dir holding NAME.cfg wins). */
  configs: Map<string, string>;
  /** Domain name → its /etc/xen/auto entry; null when /etc/xen/auto could not be read (autostart unknown). */
  autostart: Map<string, AutostartEntry> | null;
  /** File names in /etc/xen/auto (whatever they are); null when unknown. */
  autostartNames: Set<string> | null;
  /** Domains whose config xenops knows only through their autostart link (its directory is no config dir). */
  viaLinkOnly: Set<string>;
  /** What could not be read or does not add up, for the user. */
  notes: string[];
}

/** `/etc/xen/auto/` and `/etc/xen/auto` are one directory. */
export function isAutostartDir(dir: string): boolean {
  return dir.replace(/\/+$/, '') === AUTOSTART_DIR;
}

/**
 * The domain an /etc/xen/auto entry is named for: NAME.cfg, or the bare NAME — xendomains creates a guest from every
 * entry, whatever it is called, so `/etc/xen/auto/web` starts web as surely as web.cfg does.
 */
function entryName(file: string): string | null {
  return cfgName(file) ?? (file.includes('.cfg') ? null : cfgName(`${file}.cfg`));
}

function firstLine(s: string): string {
  return (
    s
      .split('\n')
      .find((l) => l.trim())
      ?.trim() ?? ''
  );
}

/**
 * Reads the batch's listings: `ls -1` of each config dir (in order), and `ls -1` plus `ls -l` of /etc/xen/auto.
 *
 * - A config is a NAME.cfg file in a config dir; the first dir holding a name wins; a missing dir is fine.
 * - /etc/xen/auto is not a config dir even when `configDirs` lists it (the default does): its symlinks are autostart
 *   entries, never second configs or second defined domains. A link pointing at a known config marks that config's
 *   domain, whatever the link is called (`01-web.cfg -> ../vm/web.cfg`); a link pointing outside the config dirs
 *   (the classic `/etc/xen/auto/mail.cfg -> ../mail.cfg`) makes its target the domain's config (xl create follows
 *   it). A regular file in /etc/xen/auto is a config (xendomains starts it), at the dir's place in `configDirs`, or
 *   after every config dir when it is not listed there.
 * - Anything that does not add up (an unreadable line, a link to a missing file, two entries for one domain) becomes
 *   a note: said, never guessed around.
 */
export function inventoryFromListings(
  dirs: readonly string[],
  dirListings: readonly (RunResult | undefined)[],
  autoPlain: RunResult | undefined,
  autoLong: RunResult | undefined,
): ConfigInventory {
  const notes: string[] = [];
  let ls: LsListing | null = null;
  if (autoLong?.code === 0) {
    ls = parseLsLong(autoLong.stdout, autoPlain?.code === 0 ? plainNames(autoPlain.stdout) : null);
    for (const u of ls.unparsed) notes.push(`could not read this line of ls -l ${AUTOSTART_DIR}/: ${JSON.stringify(u.line)}`);
    for (const n of ls.unmatched) notes.push(`could not tell what ${AUTOSTART_DIR}/${n} is`);
  } else if (autoLong && /No such file or directory/.test(autoLong.stderr)) {
    // No autostart dir: nothing starts with the host.
    ls = { entries: [], unparsed: [], unmatched: [] };
  } else {
    const why = autoLong ? firstLine(autoLong.stderr) || `exit ${autoLong.code}` : 'no answer';
    notes.push(`could not read ${AUTOSTART_DIR} (${why}): which domains start with the host is unknown`);
  }

  const configs = new Map<string, string>();
  const listed = new Map<string, Set<string>>();
  const add = (name: string | null, path: string) => {
    if (name && !configs.has(name)) configs.set(name, path);
  };
  const autoFiles = () => {
    if (ls) for (const e of ls.entries) if (e.kind === 'file') add(cfgName(e.name), `${AUTOSTART_DIR}/${e.name}`);
  };
  dirs.forEach((dir, i) => {
    if (isAutostartDir(dir)) {
      if (ls) autoFiles();
      // /etc/xen/auto unreadable in detail: fall back to its plain listing, as a config dir (the old reading).
      else if (autoPlain?.code === 0) for (const f of plainNames(autoPlain.stdout)) add(cfgName(f), `${AUTOSTART_DIR}/${f}`);
      return;
    }
    const r = dirListings[i];
    if (r?.code !== 0) return;
    // Untrimmed: a file `web.cfg ` is not web.cfg (`cat DIR/web.cfg` would not find it).
    const files = plainNames(r.stdout);
    const base = dir.replace(/\/+$/, '');
    listed.set(base, new Set(files));
    for (const file of files) {
      const name = cfgName(file);
      if (name) add(name, `${base}/${file}`);
      else if (file.endsWith('.cfg'))
        notes.push(`${JSON.stringify(`${base}/${file}`)} is not a config xenops can use: its name is no domain name xenops acts on`);
    }
  });
  if (!dirs.some(isAutostartDir)) autoFiles();

  const autostart = ls ? new Map<string, AutostartEntry>() : null;
  const viaLinkOnly = new Set<string>();
  for (const e of ls?.entries ?? []) {
    const path = `${AUTOSTART_DIR}/${e.name}`;
    if (e.kind === 'other') {
      notes.push(`${path} is neither a file nor a symlink: xendomains cannot start anything from it`);
      continue;
    }
    let name: string | null;
    let target: string | null = null;
    if (e.kind === 'file' || e.target === null) name = entryName(e.name);
    else {
      target = posix.resolve(AUTOSTART_DIR, e.target);
      const linked = target;
      const owner = [...configs].find(([, p]) => p === linked)?.[0];
      name = owner ?? cfgName(posix.basename(target)) ?? entryName(e.name);
      const there = listed.get(posix.dirname(target));
      if (!owner && there && !there.has(posix.basename(target))) {
        notes.push(`${path} points to ${target}, which does not exist: it would fail when the host boots`);
      } else if (!owner && name && !configs.has(name)) {
        // Still the domain's config (xendomains creates it at boot, and /list shows it); but xenops reads and starts
        // only NAME.cfg files, so a /start of it is refused, saying why.
        if (cfgName(posix.basename(target)) === null)
          notes.push(`${path} points to ${JSON.stringify(target)}, which is no NAME.cfg file: xenops does not start ${name} from it`);
        configs.set(name, target);
        viaLinkOnly.add(name);
      }
    }
    if (!name) {
      notes.push(`cannot tell which domain ${path} starts`);
      continue;
    }
    const existing = autostart?.get(name);
    if (existing) {
      notes.push(`${name} has more than one autostart entry: ${existing.path} and ${path}`);
      continue;
    }
    const from = target ?? path;
    const config = configs.get(name);
    if (config && config !== from) notes.push(`${path} starts ${name} from ${from}, not from its config file ${config}`);
    autostart?.set(name, { path, target });
  }
  return {
    configs,
    autostart,
    autostartNames: ls ? new Set([...ls.entries.map((e) => e.name), ...ls.unmatched]) : null,
    viaLinkOnly,
    notes,
  };
}
