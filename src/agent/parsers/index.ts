export { lastLines, sanitizeConsole } from './console.ts';
export { memoryFromInfo, parseInfo } from './info.ts';
export { type ListParse, type ListRowWithUuid, parseList, parseListWithUuids, type UnparsedLine } from './list.ts';
export { type LongDomain, parseXlListLong, parseXmListLong, xmUuidOf } from './list-long.ts';
export { type CommandOutput, classifyOutcome, type LifecycleOp, parseMigrationLine } from './outcome.ts';
export { domainStatusFromFlags, isPresent, isUp } from './state.ts';
export { parseSxp } from './sxp.ts';
export type * from './types.ts';
export { parseXentop, type XentopParse } from './xentop.ts';
