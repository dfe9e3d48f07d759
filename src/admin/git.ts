/**
 * Which commit a config file comes from: `git` run in the file's directory,
 * each call bounded by a short timeout (1 s by default), so a reload is
 * never held up by it: the daemon records the reload first and fills the
 * Git fields in when git answers. No git on PATH, a directory outside a
 * work tree, a file Git does not track, or a timeout: no Git fields, and no
 * error (there is nothing wrong with a config that is not in Git).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';

/** GitInfo is the commit a config file was read at. */
export interface GitInfo {
  /** commit: the short hash of HEAD. */
  commit: string;
  subject: string;
  /** date: the commit's author date, ISO 8601. */
  date: string;
  /** dirty: the file differs from that commit (edited and not committed, or not tracked at all). */
  dirty: boolean;
}

function git(args: string[], cwd: string, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    // GIT_OPTIONAL_LOCKS=0: `git status` must not take the index lock of the user's repository.
    // The repository's own config must not run programs as the daemon's user: no fsmonitor hook,
    // no hooks, no pager, no external diff (its directory may be writable by others).
    const safe = ['-c', 'core.fsmonitor=false', '-c', 'core.hooksPath=/dev/null', '-c', 'core.pager=cat', '-c', 'diff.external=', '--no-pager'];
    execFile('git', [...safe, ...args], { cwd, timeout: timeoutMs, killSignal: 'SIGKILL', windowsHide: true, maxBuffer: 64 * 1024, env: { ...process.env, GIT_OPTIONAL_LOCKS: '0', LC_ALL: 'C' } },
      (err, stdout) => resolve(err ? undefined : stdout));
  });
}

/**
 * readGit returns the commit `file` (a path; a symlink is not resolved) was
 * read at, or undefined when it is not in a Git work tree or git is absent
 * or too slow. Never rejects.
 */
export async function readGit(file: string, timeoutMs = 1000): Promise<GitInfo | undefined> {
  const dir = path.dirname(path.resolve(file));
  const head = await git(['rev-parse', '--short', 'HEAD'], dir, timeoutMs);
  const commit = head?.trim();
  if (!commit) return undefined;
  const [log, status] = await Promise.all([
    git(['log', '-1', '--format=%s%x00%aI'], dir, timeoutMs),
    git(['status', '--porcelain', '--', path.basename(file)], dir, timeoutMs),
  ]);
  if (log === undefined || status === undefined) return undefined;
  const [subject = '', date = ''] = log.trim().split('\0');
  return { commit, subject, date, dirty: status.trim() !== '' };
}
