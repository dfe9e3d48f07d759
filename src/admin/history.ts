/**
 * The reload history: the last 50 reload attempts in memory, newest first,
 * served as GET /api/history. Each entry says when, why (the trigger: start,
 * file change, SIGHUP, yalb reload, …), how it ended, how long it took, the
 * changes in words (the same line the log gets) and, for a failure, every
 * `file:line:col: message`. The Git fields arrive a moment later (git runs
 * after the reload is recorded, never before it: see git.ts) and are filled
 * in place; `version` grows with every change, so a client can ask only
 * when something is new (ETag).
 */
import type { GitInfo } from './git.js';

/** HistoryIssue is one problem of a failed reload, split into its position when it has one. */
export interface HistoryIssue {
  /** text: the whole line, as the log has it. */
  text: string;
  file?: string;
  line?: number;
  col?: number;
  message: string;
}

/** HistoryEntry is one reload attempt, as GET /api/history shows it. */
export interface HistoryEntry {
  id: number;
  /** at: ISO time the attempt ended. */
  at: string;
  trigger: string;
  /** applied: a new config serves; failed: the old one keeps serving; restored: the file is back to the bytes that serve. */
  result: 'applied' | 'failed' | 'restored';
  durationMs: number;
  /** hash: sha256 of the file's bytes (absent when they could not be read). */
  hash?: string;
  /** changes: the diff in words; empty for a failure or a formatting-only change. */
  changes: string[];
  errors: HistoryIssue[];
  /** git: the file's commit, when it lives in a Git work tree; absent otherwise (or not known yet). */
  git?: GitInfo;
}

/** HistoryRecord is what the daemon hands over for one attempt. */
export type HistoryRecord = Omit<HistoryEntry, 'id' | 'errors' | 'git'> & { errors: string[] };

/** POSITION splits `file:line:col: message` (the file may hold colons; the first `:N:N: ` ends it). */
const POSITION = /^(.+?):(\d+):(\d+): ([\s\S]*)$/;

/** issueOf splits one error line into its position and message, when it has a position. */
export function issueOf(text: string): HistoryIssue {
  const m = POSITION.exec(text);
  if (!m) return { text, message: text };
  return { text, file: m[1] as string, line: Number(m[2]), col: Number(m[3]), message: m[4] as string };
}

/** ReloadHistory keeps the last `limit` reload attempts (default 50). */
export class ReloadHistory {
  readonly #limit: number;
  readonly #entries: HistoryEntry[] = [];
  #nextId = 1;
  /** version grows with every change (a new entry, Git fields filled in). */
  version = 0;

  constructor(limit = 50) {
    this.#limit = limit;
  }

  /** record adds one attempt and returns its entry (the oldest is dropped beyond the limit). */
  record(r: HistoryRecord): HistoryEntry {
    const entry: HistoryEntry = { id: this.#nextId++, ...r, errors: r.errors.map(issueOf) };
    this.#entries.push(entry);
    if (this.#entries.length > this.#limit) this.#entries.shift();
    this.version++;
    return entry;
  }

  /** setGit fills in the Git fields of an entry once git has answered (nothing when it is gone already). */
  setGit(id: number, git: GitInfo): void {
    const e = this.#entries.find((x) => x.id === id);
    if (!e) return;
    e.git = git;
    this.version++;
  }

  /** list is the entries, newest first. */
  list(): HistoryEntry[] {
    return [...this.#entries].reverse();
  }
}
