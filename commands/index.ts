import type { AnyCommand } from '../src/core/define-command.ts';
import { approve } from './approve.ts';
import { audit } from './audit.ts';
import { autostart } from './autostart.ts';
import { consoleCommand } from './console.ts';
import { deny } from './deny.ts';
import { digest } from './digest.ts';
import { evacuate } from './evacuate.ts';
import { freeze } from './freeze.ts';
import { help } from './help.ts';
import { info } from './info.ts';
import { list } from './list.ts';
import { migrate } from './migrate.ts';
import { oncall } from './oncall.ts';
import { pause } from './pause.ts';
import { rebalance } from './rebalance.ts';
import { reboot } from './reboot.ts';
import { schedule } from './schedule.ts';
import { show } from './show.ts';
import { start } from './start.ts';
import { status } from './status.ts';
import { stop } from './stop.ts';
import { top } from './top.ts';
import { unfreeze } from './unfreeze.ts';
import { unpause } from './unpause.ts';
import { uptime } from './uptime.ts';
import { whoami } from './whoami.ts';

/** Every chat command, listed explicitly (a test checks that no file in commands/ is left out). */
export const COMMANDS: readonly AnyCommand[] = [
  help,
  list,
  info,
  top,
  status,
  show,
  uptime,
  digest,
  schedule,
  start,
  stop,
  reboot,
  pause,
  unpause,
  autostart,
  consoleCommand,
  migrate,
  evacuate,
  rebalance,
  approve,
  deny,
  freeze,
  unfreeze,
  whoami,
  audit,
  oncall,
];

/** Files in commands/ that are helpers, not commands. */
export const NON_COMMAND_FILES = ['index.ts', 'render-helpers.ts'];
