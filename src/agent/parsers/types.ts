/** The parsers' value types live in src/core/xen.ts, shared with the queue and the commands. */
export type { CommandOutcome, HostInfo, ListRow, MigrationFailureStage, MigrationProgress, TopRow } from '../../core/xen.ts';
