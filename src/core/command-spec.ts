/** What adapters, help and registration know of a command: derived from its definition, never written twice. */

/** Kept in sync with the command definitions: adapters derive their menus from this, never write options twice. */
export interface CommandOptionSpec {
  name: string;
  description: string;
  type: 'string' | 'integer' | 'boolean';
  required: boolean;
  /** Served from the bot's in-memory fleet cache, filtered by what the asker may act on. */
  autocomplete?: 'domain' | 'host';
  min?: number;
  max?: number;
}

export type Risk = 'read' | 'write' | 'dangerous';

export interface CommandSpec {
  name: string;
  description: string;
  options: CommandOptionSpec[];
  /** One-line usage, e.g. `/stop <domain> [--force]`. */
  usage: string;
  /** null = any known person may run it (help, whoami). */
  permission: string | null;
  risk: Risk;
}

export interface Choice {
  name: string;
  value: string;
}
