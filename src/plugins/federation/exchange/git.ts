/**
 * A git exchange: a remote every member can push to (git+file://, git+ssh://, git+https://). Each
 * member keeps a clone under $MIRADOR_HOME/federation/exchanges/<hash>/; put writes the file,
 * commits it and pushes, and on a non-fast-forward fetches, rebases and pushes again. Members write
 * distinct files, so the rebases are clean; the same path with other bytes is a conflict.
 */
import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { withFileLock } from '../../../lib/file-lock.js'
import { checkDir, checkPath, exchangeError, refuseOtherBytes, sortNames, throwIfAborted, visible } from './errors.js'
import { makeGit, type GitResult } from './git-cli.js'
import type { Exchange, ExchangeOptions } from './types.js'

const BRANCH = 'main'
const REMOTE_REF = `refs/remotes/origin/${BRANCH}`
const MAX_PUSHES = 40
/** a push lost to another member's (or the remote's ref lock): fetch, rebase, push again */
const RETRYABLE =
  /\[rejected\]|non-fast-forward|fetch first|cannot lock ref|unable to (create|lock)|failed to update ref/i

export function createGitExchange(url: string, remote: string, options: ExchangeOptions): Exchange {
  const { home, member, signal, onProgress } = options
  const name = url
  const clone = path.join(home, 'federation', 'exchanges', createHash('sha256').update(url).digest('hex').slice(0, 16))
  const rawGit = makeGit(clone, member, signal)
  /** git that fails as Mirador errors: ABORTED when cancelled, FEDERATION_EXCHANGE when git is missing */
  const git = async (args: string[]): Promise<GitResult> => {
    throwIfAborted(name, signal)
    return rawGit(args).catch((err: unknown) => {
      throwIfAborted(name, signal)
      throw exchangeError(name, `cannot run git (${(err as Error).message}); install git`, err)
    })
  }
  let ready: Promise<void> | undefined

  const run = async (args: string[], what: string): Promise<GitResult> => {
    const r = await git(args)
    if (!r.ok) throw exchangeError(name, `${what} failed: ${firstFatal(r.stderr)}`)
    return r
  }

  async function setUp(): Promise<void> {
    await mkdir(clone, { recursive: true })
    const fresh = !(await stat(path.join(clone, '.git')).catch(() => undefined))
    if (fresh) {
      await run(['init', '-q', `--initial-branch=${BRANCH}`], 'git init')
      await run(['remote', 'add', 'origin', remote], 'git remote add')
    }
    await syncLocked()
  }

  /** serialises this process's use of the clone with any other process sharing the home */
  async function locked<T>(fn: () => Promise<T>): Promise<T> {
    ready ??= withFileLock(`${clone}.lock`, setUp, { timeoutMs: 120_000, what: `the clone of ${name}` })
    try {
      await ready
    } catch (err) {
      ready = undefined
      throw err
    }
    return withFileLock(`${clone}.lock`, fn, { timeoutMs: 120_000, what: `the clone of ${name}` })
  }

  /** false when the remote has no branch yet (a new, empty repository) */
  async function fetch(): Promise<boolean> {
    const r = await git(['fetch', '-q', 'origin', `+refs/heads/${BRANCH}:${REMOTE_REF}`])
    if (r.ok) return true
    if (/couldn't find remote ref/i.test(r.stderr)) return false
    throw exchangeError(name, `cannot reach the remote: ${firstFatal(r.stderr)}`)
  }

  /** puts this clone's commits on top of the remote's; false on a conflict (the same path, other bytes) */
  async function rebase(): Promise<boolean> {
    if ((await git(['rebase', '-q', REMOTE_REF])).ok) return true
    await git(['rebase', '--abort'])
    // our unpushed commit collides with one already there: drop ours, the remote's stands
    await run(['reset', '-q', '--hard', REMOTE_REF], 'git reset')
    return false
  }

  /**
   * Pushes HEAD until it lands: at once first (a clone just synced usually lands), then after each
   * push lost to another member, fetch and rebase and try again. False if a rebase hit a conflict.
   */
  async function pushUntilLanded(): Promise<boolean> {
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1) {
        if ((await fetch()) && !(await rebase())) return false
      }
      const r = await git(['push', '-q', 'origin', `HEAD:refs/heads/${BRANCH}`])
      if (r.ok) return true
      if (!RETRYABLE.test(r.stderr)) throw exchangeError(name, `cannot push: ${firstFatal(r.stderr)}`)
      if (attempt >= MAX_PUSHES) throw exchangeError(name, `gave up after ${attempt} pushes lost to other members`)
      onProgress?.({ kind: 'retry', attempt })
      await pause(attempt, signal)
    }
  }

  /** fetch and rebase; push what an earlier put could not */
  async function syncLocked(): Promise<void> {
    const hasRemote = await fetch()
    if (!(await git(['rev-parse', '-q', '--verify', 'HEAD'])).ok) {
      if (hasRemote) await run(['checkout', '-q', '-B', BRANCH, REMOTE_REF], 'git checkout')
      return
    }
    if (hasRemote && !(await rebase())) return
    const pending = hasRemote
      ? Number((await run(['rev-list', '--count', `${REMOTE_REF}..HEAD`], 'git rev-list')).stdout.trim())
      : 1
    if (pending > 0) await pushUntilLanded()
  }

  const at = (file: string) => path.join(clone, ...file.split('/'))
  const readLocal = async (file: string): Promise<Uint8Array | undefined> =>
    readFile(at(file)).then(
      (b) => new Uint8Array(b),
      () => undefined,
    )

  return {
    name,
    async list(dir) {
      const d = checkDir(name, dir)
      return locked(async () => {
        const entries = await readdir(d ? at(d) : clone, { withFileTypes: true }).catch(() => [])
        return sortNames(entries.filter((e) => e.isFile() && visible(e.name)).map((e) => e.name))
      })
    },
    async get(file) {
      checkPath(name, file)
      return locked(() => readLocal(file))
    },
    async put(file, bytes) {
      checkPath(name, file)
      await locked(async () => {
        const there = await readLocal(file)
        if (there) {
          refuseOtherBytes(name, file, there, bytes)
          // already here; a push an earlier put could not make goes out now
          await syncLocked()
          return
        }
        await mkdir(path.dirname(at(file)), { recursive: true })
        await writeFile(at(file), bytes)
        await run(['add', '--', file], 'git add')
        await run(['commit', '-q', '--no-verify', '-m', `put ${file}`, '--', file], 'git commit')
        if (!(await pushUntilLanded())) {
          const now = await readLocal(file)
          refuseOtherBytes(name, file, now, bytes)
        }
      })
      onProgress?.({ kind: 'put', path: file })
    },
    async sync() {
      await locked(async () => {
        await syncLocked()
      })
      onProgress?.({ kind: 'sync' })
    },
    async close() {
      await ready?.catch(() => {})
    },
  }
}

/** git's own reason, one line: the first "fatal:"/"error:" line, else the first line */
function firstFatal(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
  return (lines.find((l) => /^(fatal|error):/.test(l)) ?? lines[0] ?? 'no reason given').replace(
    /^(fatal|error):\s*/,
    '',
  )
}

/** exponential backoff with full jitter, so a crowd of members racing to push spreads out */
function pause(attempt: number, signal: AbortSignal | undefined): Promise<void> {
  const ms = Math.floor(Math.random() * Math.min(3000, 25 * 2 ** Math.min(attempt, 10)))
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms)
    signal?.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true })
  })
}
