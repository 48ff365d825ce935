import { z } from 'zod';
import { defineCommand, type HostOutcome } from '../src/core/define-command.ts';
import { type DomainDetail, type DomainNic, xenbusState } from '../src/core/domain-detail.ts';
import { DomainRefArg, formatDomainRef } from '../src/core/domain-ref.ts';
import { type Block, type Field, formatTable, type Reply, reply } from '../src/core/reply.ts';
import { AUTOSTART_MARK, describeStatus, failureBlocks, mib } from './render-helpers.ts';
import { formatUptime } from './uptime.ts';

/** Rows a device or vCPU table shows inline when the page is too long for one message; all are in the attachment. */
export const SHOW_MAX_ROWS = 8;
/** Notes shown inline when the page is too long; all are in the attachment. */
export const SHOW_MAX_NOTES = 4;
/**
 * Characters of plain text a page may have inline: under Telegram's 4096 (tags do not count, escapes count once) and
 * Discord's 4096-character description (the fields go apart), with room for the title and the table fences.
 */
export const SHOW_INLINE_BUDGET = 3500;

interface Caps {
  rows: number;
  notes: number;
}
/** How much of one note a capped page shows. */
const NOTE_CHARS = 300;
const UNCAPPED: Caps = { rows: Number.POSITIVE_INFINITY, notes: Number.POSITIVE_INFINITY };

const Args = z.strictObject({ domain: DomainRefArg.describe('domain name, or host:domain') });

function capped(rows: string[][], what: string, caps: Caps): { rows: string[][]; more: Block[] } {
  if (rows.length <= caps.rows) return { rows, more: [] };
  return { rows: rows.slice(0, caps.rows), more: [reply.text(`… and ${rows.length - caps.rows} more ${what} in the attachment`)] };
}

/** Per-vCPU pinnings listed in the field (a Discord field holds 1024 characters); the live table has every vCPU. */
const PINNING_LISTED = 16;

function pinning(p: string | string[] | null): string {
  if (p === null) return 'none (any CPU)';
  if (typeof p === 'string') return `${p} (every vCPU)`;
  const listed = p.slice(0, PINNING_LISTED).map((a, i) => `vCPU ${i}: ${a}`);
  return p.length > PINNING_LISTED ? `${listed.join(', ')}, … (${p.length} vCPUs)` : listed.join(', ');
}

/**
 * The vif's hotplug script (vif-bridge, vif-route, vif-nat…), which says bridged or routed at a glance, with the
 * gateway device of a routed one; `default` when the config names none (the toolstack's own, vif-bridge unless
 * xl.conf / xend-config.sxp say otherwise — not guessed here).
 */
function script(n: DomainNic): string {
  const s = n.script ?? 'default';
  return n.gatewaydev ? `${s} (gw ${n.gatewaydev})` : s;
}

function memory(d: DomainDetail): string {
  const max = d.maxMemoryMiB === null ? (d.source === 'config-file' ? 'not set (= memory)' : 'unknown') : mib(d.maxMemoryMiB);
  return `${d.memoryMiB === null ? 'unknown' : mib(d.memoryMiB)} (max ${max})`;
}

function vcpus(d: DomainDetail): string {
  const now = d.vcpus === null ? 'unknown' : String(d.vcpus);
  return d.maxVcpus === null || d.maxVcpus === d.vcpus ? now : `${now} (max ${d.maxVcpus})`;
}

function autostart(d: DomainDetail, host: string): string {
  const a = d.summary?.autostart;
  if (a === undefined) return `unknown (${host}'s /etc/xen/auto could not be read)`;
  if (a === null) return 'no';
  return `${AUTOSTART_MARK} yes — ${a.path}${a.target ? ` → ${a.target}` : ' (a config file itself)'}`;
}

function state(d: DomainDetail): string {
  const s = d.summary;
  if (!s) return 'unknown';
  if (s.status === 'defined') return 'not running (defined)';
  return `${describeStatus(s)} (${s.flags})${s.id === null ? '' : `, id ${s.id}`}`;
}

/** The blocks of one domain's page, every row and note, or (caps) the first of each. */
export function showBlocks(d: DomainDetail, host: string, toolstack: string, caps: Caps = UNCAPPED): Block[] {
  const running = d.summary !== null && d.summary.status !== 'defined';
  const source =
    d.source === 'toolstack'
      ? `${toolstack} list -l (the running domain)`
      : d.source === 'config-file'
        ? `its config file ${d.configFileRead}`
        : 'nothing readable';
  const fields: Field[] = [
    { name: 'state', value: state(d), inline: true },
    { name: 'uptime', value: d.uptimeSeconds === null ? '-' : formatUptime(d.uptimeSeconds), inline: true },
    { name: 'type', value: d.type ?? '-', inline: true },
    { name: 'UUID', value: d.uuid ?? 'unknown' },
    { name: 'memory', value: memory(d), inline: true },
    { name: 'vCPUs', value: vcpus(d), inline: true },
    { name: 'pinning (config)', value: d.source === null ? 'unknown' : pinning(d.cpus), inline: true },
    ...(d.cpusSoft === null ? [] : [{ name: 'soft affinity (config)', value: pinning(d.cpusSoft), inline: true }]),
    { name: 'autostart', value: autostart(d, host) },
    { name: 'config file', value: d.summary?.configPath ?? 'none found' },
    { name: 'configuration from', value: source },
  ];
  const blocks: Block[] = [reply.fields(fields)];

  if (d.nics.length > 0) {
    const rows = d.nics.map((n) => [
      n.vifname ? `${n.index} ${n.vifname}` : String(n.index),
      n.bridge ?? '-',
      script(n),
      n.mac ?? (running ? 'unknown' : 'set at start'),
      n.ips.length > 0 ? n.ips.join(' ') : 'unknown',
      running ? (n.live ? xenbusState(n.state) : d.liveDevices.nics ? 'not attached' : '?') : '-',
      n.configured ? '' : 'not in config',
    ]);
    const t = capped(rows, 'vifs', caps);
    const noted = rows.some((r) => r[6] !== '');
    blocks.push(
      reply.table(
        {
          columns: ['vif', 'bridge', 'script', 'MAC', 'IP', 'state', ...(noted ? [''] : [])],
          rows: noted ? t.rows : t.rows.map((r) => r.slice(0, 6)),
        },
        'Network',
      ),
      ...t.more,
    );
  } else if (d.source !== null || d.liveDevices.nics) blocks.push(reply.text('Network: no vifs'));

  if (d.disks.length > 0) {
    const rows = d.disks.map((k) => [
      k.vdev ?? (k.devid === null ? '?' : String(k.devid)),
      k.target ?? (k.cdrom ? '(empty)' : k.configured ? '-' : 'unknown'),
      k.mode ?? '?',
      [k.backend, k.format, k.cdrom ? 'cdrom' : null].filter(Boolean).join(' ') || '-',
      running ? (k.live ? xenbusState(k.state) : d.liveDevices.disks ? 'not attached' : '?') : '-',
      k.configured ? '' : 'not in config',
    ]);
    const t = capped(rows, 'disks', caps);
    const noted = rows.some((r) => r[5] !== '');
    blocks.push(
      reply.table(
        {
          columns: ['vdev', 'target', 'mode', 'kind', 'state', ...(noted ? [''] : [])],
          rows: noted ? t.rows : t.rows.map((r) => r.slice(0, 5)),
        },
        'Disks',
      ),
      ...t.more,
    );
  } else if (d.source !== null || d.liveDevices.disks) blocks.push(reply.text('Disks: none'));

  if (d.vcpuList && d.vcpuList.length > 0) {
    const rows = d.vcpuList.map((v) => [
      String(v.vcpu),
      v.cpu === null ? '-' : String(v.cpu),
      v.state || '-',
      v.timeSeconds.toFixed(1),
      v.hard,
      ...(v.soft === null ? [] : [v.soft]),
    ]);
    const soft = d.vcpuList.some((v) => v.soft !== null);
    const t = capped(rows, 'vCPUs', caps);
    blocks.push(
      reply.table(
        {
          columns: ['vCPU', 'CPU', 'state', 'time(s)', soft ? 'hard' : 'affinity', ...(soft ? ['soft'] : [])],
          rows: t.rows,
          alignRight: [0, 1, 3],
        },
        'vCPUs (live)',
      ),
      ...t.more,
    );
  }

  for (const u of d.unavailable) blocks.push(reply.text(`Not shown: ${u}`));
  // Inline (capped) a note is cut at NOTE_CHARS; the attachment has it whole.
  const cut = (n: string) => (caps.notes === UNCAPPED.notes || n.length <= NOTE_CHARS ? n : `${n.slice(0, NOTE_CHARS - 1)}…`);
  for (const n of d.notes.slice(0, caps.notes)) blocks.push(reply.text(`⚠ ${cut(n)}`));
  if (d.notes.length > caps.notes) blocks.push(reply.text(`⚠ … and ${d.notes.length - caps.notes} more notes in the attachment`));
  return blocks;
}

/** The page as plain text: how long it is inline, and the attachment's content when it is too long. */
export function plainText(title: string, blocks: Block[]): string {
  const parts = blocks.map((b) => {
    switch (b.type) {
      case 'fields':
        return b.fields.map((f) => `${f.name}: ${f.value}`).join('\n');
      case 'table':
        return `${b.caption ? `${b.caption}\n` : ''}${formatTable(b.table)}`;
      default:
        return b.text;
    }
  });
  return [title, ...parts].join('\n\n');
}

export function renderShow(o: HostOutcome<'domain.show'> | undefined, ref: string): Reply {
  if (!o?.ok) return reply.result(`Could not show ${ref}`, o ? failureBlocks([o]) : [], { tone: 'error' });
  const d = o.result;
  const running = d.summary !== null && d.summary.status !== 'defined';
  const title = `${d.name} on ${o.host}${running ? '' : ' (not running)'}`;
  const tone = d.notes.length > 0 ? 'warning' : 'info';
  const all = showBlocks(d, o.host, o.result.toolstack);
  const full = plainText(title, all);
  if (full.length <= SHOW_INLINE_BUDGET) return reply.result(title, all, { tone });
  // Too long for one message (dozens of vCPUs or devices): the first rows inline, every row in the attachment.
  return reply.result(title, showBlocks(d, o.host, o.result.toolstack, { rows: SHOW_MAX_ROWS, notes: SHOW_MAX_NOTES }), {
    tone,
    attachments: [
      { name: `${d.name}-${o.host}.txt`, contentType: 'text/plain', data: `${full}\n`, description: `everything about ${d.name}` },
    ],
  });
}

export const show = defineCommand({
  name: 'show',
  description: 'One domain: state, memory, vCPUs and pinning, disks, network (bridge, MAC, IP), uptime, config',
  args: Args,
  positional: ['domain'],
  permission: 'domain.show',
  risk: 'read',
  scope: 'domain',
  op: 'domain.show',
  examples: ['/show web', '/show xen1:mail'],
  job: (_args, target) => ({ op: 'domain.show', host: target.host, domain: target.domain ?? '' }),
  render: ([o], args) => renderShow(o, formatDomainRef(args.domain)),
});
