import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const SHA = /^[0-9a-f]{40}$/;

/** The git directory of a clone: `.git` itself, or where a `.git` file (worktree, submodule) points. */
function gitDir(root: string): string | undefined {
  const dotGit = path.join(root, '.git');
  if (!existsSync(dotGit)) return undefined;
  if (statSync(dotGit).isDirectory()) return dotGit;
  const m = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf8'));
  return m ? path.resolve(root, m[1].trim()) : undefined;
}

/**
 * The commit a plain clone has checked out, read from its files (no git needed): HEAD itself when
 * detached, else the branch it names, loose or packed. Undefined when `root` is not a clone's root
 * or the commit cannot be read, e.g. a snapshot unpacked by `mmsafe data pull`.
 */
export function gitCheckout(root: string): string | undefined {
  try {
    const dir = gitDir(root);
    if (!dir) return undefined;
    const head = readFileSync(path.join(dir, 'HEAD'), 'utf8').trim();
    if (SHA.test(head)) return head;
    const ref = /^ref:\s*(\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    // A worktree keeps HEAD in its own git dir and refs in the common one.
    const common = existsSync(path.join(dir, 'commondir')) ? path.resolve(dir, readFileSync(path.join(dir, 'commondir'), 'utf8').trim()) : dir;
    for (const d of [dir, common]) {
      const loose = path.join(d, ref);
      if (existsSync(loose)) {
        const sha = readFileSync(loose, 'utf8').trim();
        if (SHA.test(sha)) return sha;
      }
    }
    const packed = path.join(common, 'packed-refs');
    if (!existsSync(packed)) return undefined;
    const line = readFileSync(packed, 'utf8').split('\n').find((l) => l.endsWith(` ${ref}`));
    const sha = line?.split(' ')[0];
    return sha && SHA.test(sha) ? sha : undefined;
  } catch {
    return undefined;
  }
}
