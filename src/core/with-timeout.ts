/**
 * `p`'s outcome, or a rejection with `message` after `ms` (the timer does not keep the process alive). `p` is not
 * cancelled: a late rejection of it is swallowed, its late result dropped.
 */
export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  p.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}
