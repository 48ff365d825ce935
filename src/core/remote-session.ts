/**
 * The wire format of a persistent command session on a Dom0: one long-lived `sh` per SSH channel that runs the
 * commands it is sent and answers each request in a single write.
 *
 * Why: OpenSSH's sshd leaves Nagle's algorithm on for non-interactive sessions, so every `exec` channel (open,
 * data, exit-status, EOF, close: several small packets) meets the client's delayed ACKs and costs ~40–90 ms on
 * loopback whatever the client sets. A request/response over an open channel, answered with one write, does not.
 * It also lets several reads (`xl list` and the config dirs) travel in one round trip.
 *
 * Request (client → shell): `<id> <n> <nonce>\n` then n lines, each one command string exactly as an `exec`
 * would send it (every word already quoted by `buildCommand`; a command holding a newline is never sent here).
 * The nonce is fresh random letters and digits for each request.
 * Response (shell → client), all in one write: `R <id> <n>\n`, then per command its stdout, `\n<nonce> E\n`,
 * its stderr, `\n<nonce> <exit code>\n`. Output may hold anything but the request's nonce, which it cannot guess.
 *
 * Shared by the agent's SSH pool (src/agent/ssh/session.ts) and the simulator, which speaks it natively.
 */

/**
 * The POSIX sh program the session runs. Commands get /dev/null as stdin (they must never eat the protocol) and
 * their output is gathered in files, so the whole answer leaves in one write of one `cat`: several writes would
 * meet Nagle's algorithm in sshd again. A fork costs one to two milliseconds on a small Dom0 (1.75 ms on the
 * bench's VM), so the loop forks for the command itself and that `cat`, nothing else: a command's stderr is kept
 * in its own file and only when one is not empty are the pieces joined by a second `cat` first (stdout goes on
 * being appended to the current piece). `ls -1 DIR`, which every domain list asks for each config dir, is answered by a
 * shell function: a readable directory by a glob (the same names, hidden ones left out, one per line as `ls` prints
 * them into a pipe), a path that is not there (its first existing ancestor a searchable directory, so it is surely
 * ENOENT, as for the default `/etc/xen/vm` on many hosts) by GNU ls's message and exit code 2 — as is `ls -l` of
 * such a path (the autostart listing of a host with no /etc/xen/auto); anything else runs the real `ls`.
 * Exit 97: no temp dir (nothing ran); 98: a malformed request (nothing of it ran).
 */
export const SESSION_SCRIPT = [
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  't=$(mktemp -d "${TMPDIR:-/tmp}/xenops.XXXXXX") || exit 97',
  'trap \'rm -rf "$t"\' EXIT',
  "trap 'exit 1' HUP INT TERM PIPE",
  'ls() {',
  '  if [ "$#" -eq 2 ] && { [ "$1" = -1 ] || [ "$1" = -l ]; }; then',
  '    case "$2" in /*)',
  '      if [ "$1" = -1 ] && [ -d "$2" ] && [ -r "$2" ] && [ -x "$2" ]; then',
  '        for f in "$2"/*; do',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  '          if [ -e "$f" ] || [ -L "$f" ]; then printf \'%s\\n\' "${f##*/}"; fi',
  '        done',
  '        return 0',
  '      fi',
  '      if [ ! -e "$2" ] && [ ! -L "$2" ]; then',
  '        q=$2',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell parameter expansion, not a template
  '        while q=${q%/*}; q=${q:-/}; [ ! -e "$q" ]; do :; done',
  '        if [ -d "$q" ] && [ -x "$q" ]; then',
  '          printf "ls: cannot access \'%s\': No such file or directory\\n" "$2" >&2',
  '          return 2',
  '        fi',
  '      fi;;',
  '    esac',
  '  fi',
  '  command ls "$@"',
  '}',
  "while IFS=' ' read -r id n b; do",
  '  case "$id" in ""|*[!0-9]*) exit 98;; esac',
  '  case "$n" in ""|*[!0-9]*) exit 98;; esac',
  '  case "$b" in ""|*[!A-Za-z0-9]*) exit 98;; esac',
  '  p="$t/r"',
  '  printf \'R %s %s\\n\' "$id" "$n" >"$p"',
  '  set -- "$p"',
  '  i=0',
  '  while [ "$i" -lt "$n" ]; do',
  '    IFS= read -r c || exit 0',
  '    eval "$c" >>"$p" 2>"$t/e$i" </dev/null',
  '    s=$?',
  '    printf \'\\n%s E\\n\' "$b" >>"$p"',
  '    if [ -s "$t/e$i" ]; then p="$t/p$i"; : >"$p"; set -- "$@" "$t/e$i" "$p"; fi',
  '    printf \'\\n%s %s\\n\' "$b" "$s" >>"$p"',
  '    i=$((i+1))',
  '  done',
  '  if [ "$#" -gt 1 ]; then cat "$@" >"$t/j" || exit 1; set -- "$t/j"; fi',
  '  cat "$1"',
  'done',
].join('\n');

/** The exec request that starts a session: the script as one single-quoted argument to `sh -c`. */
export const SESSION_COMMAND = `sh -c '${SESSION_SCRIPT.replace(/'/g, `'\\''`)}'`;

/** The session exited before reading anything: it could not make its temp dir. */
export const SESSION_EXIT_NO_TEMP = 97;
/** The session refused a request it could not parse (nothing of it ran). */
export const SESSION_EXIT_BAD_REQUEST = 98;

export interface SessionCommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface SessionResponse {
  id: number;
  results: SessionCommandResult[];
}

/** True when a command string can travel as one request line. */
export function fitsSession(command: string): boolean {
  return !command.includes('\n') && !command.includes('\r') && !command.includes('\0');
}

export function encodeRequest(id: number, commands: readonly string[], nonce: string): string {
  if (!Number.isSafeInteger(id) || id < 0) throw new Error(`bad session request id ${id}`);
  if (!/^[A-Za-z0-9]{16,}$/.test(nonce)) throw new Error('a session nonce is at least 16 letters and digits');
  if (commands.length === 0) throw new Error('a session request needs at least one command');
  for (const c of commands) if (!fitsSession(c)) throw new Error('a session command cannot hold a newline or NUL');
  return `${id} ${commands.length} ${nonce}\n${commands.map((c) => `${c}\n`).join('')}`;
}

export class SessionProtocolError extends Error {
  override readonly name = 'SessionProtocolError';
}

/** An answer that grew past the parser's limit: the rest of it is not read, and the session cannot go on. */
export class SessionAnswerTooLarge extends Error {
  override readonly name = 'SessionAnswerTooLarge';
  constructor(readonly limit: number) {
    super(`the answer was larger than ${describeBytes(limit)}`);
  }
}

/** A byte count as people read it: whole MiB or KiB when it is one, bytes otherwise. */
export function describeBytes(n: number): string {
  if (n >= MIB && n % MIB === 0) return `${n / MIB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}

const MIB = 1024 * 1024;
const EMPTY = Buffer.alloc(0);
/** `R <id> <n>`: a first line longer than this is not the protocol (a banner, shell noise), whatever follows. */
const MAX_HEAD_BYTES = 64;

/** Where the parse of the outstanding answer stands, so that each chunk is searched once. */
interface Progress {
  n: number;
  results: SessionCommandResult[];
  /** Start of the current command's stdout. */
  at: number;
  /** Where the current command's stderr marker and status marker start; -1 until found. */
  err: number;
  end: number;
  /** Where the next search starts: nothing before it can begin the marker looked for. */
  from: number;
}

/**
 * Incremental response parser for one session: say which request is outstanding (`expect`), feed it the
 * channel's stdout as it arrives; `push` returns the response once it is complete. Throws SessionProtocolError on
 * bytes that are not the protocol, SessionAnswerTooLarge past `maxBytes` (the session is then unusable).
 *
 * Linear in the answer's size: chunks are appended to a buffer that doubles when full, and each search resumes
 * where the last one gave up (less a marker's length, for a marker cut by a chunk's end). Joining every chunk onto
 * all before it and searching from the start again cost ~35 s of CPU for a 48 MiB console line.
 */
export class SessionResponseParser {
  /** The bytes held are `store[0, used)`; `store` is the first chunk itself until a second one arrives. */
  private store: Buffer = EMPTY;
  private used = 0;
  private owned = false;
  private expected: { id: number; errMark: Buffer; endMark: Buffer } | null = null;
  private progress: Progress | null = null;
  private readonly maxBytes: number;

  constructor(options: { maxBytes?: number } = {}) {
    this.maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
  }

  expect(id: number, nonce: string): void {
    this.expected = { id, errMark: Buffer.from(`\n${nonce} E\n`), endMark: Buffer.from(`\n${nonce} `) };
    this.progress = null;
  }

  push(chunk: Buffer): SessionResponse | null {
    this.append(chunk);
    if (!this.expected) {
      if (this.used > 0) throw new SessionProtocolError('the session said something when nothing was asked');
      return null;
    }
    const response = this.parse(this.expected);
    if (response) this.expected = null;
    return response;
  }

  /** Bytes received that do not yet make a whole response. */
  get pending(): number {
    return this.used;
  }

  /** Bytes of memory the parser keeps alive (what it holds may be a view into a larger chunk). */
  get retained(): number {
    return this.store.buffer.byteLength;
  }

  private append(chunk: Buffer): void {
    if (chunk.length === 0) return;
    const total = this.used + chunk.length;
    if (total > this.maxBytes) throw new SessionAnswerTooLarge(this.maxBytes);
    if (this.used === 0) {
      // Most answers come in one chunk: parsed where it lies, no copy.
      this.store = chunk;
      this.used = chunk.length;
      this.owned = false;
      return;
    }
    if (!this.owned || total > this.store.length) {
      const grown = Buffer.allocUnsafeSlow(Math.min(Math.max(total, 2 * this.store.length, 64 * 1024), this.maxBytes));
      this.store.copy(grown, 0, 0, this.used);
      this.store = grown;
      this.owned = true;
    }
    chunk.copy(this.store, this.used);
    this.used = total;
  }

  /**
   * Keeps what follows byte `at` in memory of its own: a view of it would keep the whole chunk it came in alive while
   * the session idles (ssh2's chunks are views of its packet buffers: ~8 KB held per idle session, 11 MiB at 1,000
   * hosts), and a grown store would keep its size.
   */
  private keepFrom(at: number): void {
    const left = at >= this.used ? EMPTY : Buffer.allocUnsafeSlow(this.used - at);
    if (left.length > 0) this.store.copy(left, 0, at, this.used);
    this.store = left;
    this.used = left.length;
    this.owned = true;
  }

  private parse({ id, errMark, endMark }: { id: number; errMark: Buffer; endMark: Buffer }): SessionResponse | null {
    const buffer = this.store.subarray(0, this.used);
    let p = this.progress;
    if (!p) {
      const nl = buffer.indexOf(0x0a);
      const head = buffer.subarray(0, nl < 0 ? MAX_HEAD_BYTES + 1 : nl).toString('latin1');
      if (nl < 0 && head.length <= MAX_HEAD_BYTES) return null;
      const m = /^R (\d+) (\d+)$/.exec(head);
      if (!m || Number(m[1]) !== id) throw new SessionProtocolError(`unexpected session output: ${JSON.stringify(head.slice(0, 80))}`);
      p = { n: Number(m[2]), results: [], at: nl + 1, err: -1, end: -1, from: nl + 1 };
      this.progress = p;
    }
    while (p.results.length < p.n) {
      if (p.err < 0) {
        p.err = buffer.indexOf(errMark, p.from);
        if (p.err < 0) return this.wait(p, p.at, errMark.length);
        p.from = p.err + errMark.length;
      }
      if (p.end < 0) {
        p.end = buffer.indexOf(endMark, p.from);
        if (p.end < 0) return this.wait(p, p.err + errMark.length, endMark.length);
        p.from = p.end + endMark.length;
      }
      const eol = buffer.indexOf(0x0a, p.from);
      if (eol < 0) return this.wait(p, p.end + endMark.length, 1);
      const code = buffer.subarray(p.end + endMark.length, eol).toString('latin1');
      if (!/^\d+$/.test(code)) throw new SessionProtocolError(`unexpected session exit status ${JSON.stringify(code.slice(0, 20))}`);
      p.results.push({
        code: Number(code),
        stdout: buffer.subarray(p.at, p.err).toString('utf8'),
        stderr: buffer.subarray(p.err + errMark.length, p.end).toString('utf8'),
      });
      p.at = eol + 1;
      p.err = -1;
      p.end = -1;
      p.from = p.at;
    }
    this.progress = null;
    this.keepFrom(p.at);
    return { id, results: p.results };
  }

  /** Not there yet: the next search starts where a marker of `length` bytes may still begin (never before `floor`). */
  private wait(p: Progress, floor: number, length: number): null {
    p.from = Math.max(floor, this.used - length + 1);
    return null;
  }
}

/** The response as the shell writes it (the simulator answers with this). */
export function encodeResponse(response: SessionResponse, nonce: string): Buffer {
  const parts: string[] = [`R ${response.id} ${response.results.length}\n`];
  for (const r of response.results) parts.push(r.stdout, `\n${nonce} E\n`, r.stderr, `\n${nonce} ${r.code}\n`);
  return Buffer.from(parts.join(''), 'utf8');
}

/**
 * Incremental request parser (the simulator's side): lines in, whole requests out. A malformed request throws
 * SessionProtocolError, as the real script exits on one.
 */
export class SessionRequestParser {
  private partial = '';
  private current: { id: number; n: number; nonce: string; commands: string[] } | null = null;

  push(text: string): SessionRequest[] {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop() ?? '';
    const done: SessionRequest[] = [];
    for (const l of lines) {
      if (!this.current) {
        const m = /^(\d+) (\d+) ([A-Za-z0-9]+)$/.exec(l);
        if (!m) throw new SessionProtocolError(`malformed session request: ${JSON.stringify(l.slice(0, 80))}`);
        this.current = { id: Number(m[1]), n: Number(m[2]), nonce: m[3] as string, commands: [] };
      } else {
        this.current.commands.push(l);
      }
      if (this.current && this.current.commands.length === this.current.n) {
        done.push({ id: this.current.id, nonce: this.current.nonce, commands: this.current.commands });
        this.current = null;
      }
    }
    return done;
  }
}

export interface SessionRequest {
  id: number;
  nonce: string;
  commands: string[];
}
