/**
 * Checking and stopping the processes of the bundled Chroma server: is a pid alive and ours (its
 * command line names the supervisor role or chromadb's cli.mjs and our data folder, read from
 * /proc, or `ps` elsewhere), does the server answer its heartbeat, and stopping what a record names
 * or what no record names (orphans).
 */
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import { TOKEN_HEADER } from './guard.js'
import { readToken, type ChromaPaths, type ChromaServerRecord } from './records.js'
import { SUPERVISOR_ROLE } from './supervisor.js'

export const KILL_AFTER_MS = 10_000

/** Does the server answer (with the guard's token, for the bundled one)? */
export async function heartbeat(
  url: string,
  timeoutMs: number,
  token?: string,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const res = await fetch(`${url}/api/v2/heartbeat`, {
      signal: AbortSignal.timeout(timeoutMs),
      ...(token ? { headers: { [TOKEN_HEADER]: token } } : {}),
    })
    await res.body?.cancel().catch(() => {})
    if (res.ok) return { ok: true }
    return { ok: false, reason: `HTTP ${res.status} from /api/v2/heartbeat` }
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } }
    if (e.name === 'TimeoutError' || e.name === 'AbortError')
      return { ok: false, reason: `no answer within ${timeoutMs} ms` }
    return { ok: false, reason: e.cause?.code ?? e.cause?.message ?? e.message }
  }
}

export interface Health {
  ok: boolean
  /** the supervisor pid is alive and is ours */
  supervisor: boolean
  /** the chroma pid is alive and is ours */
  chroma: boolean
}

export async function recordHealth(rec: ChromaServerRecord, paths: ChromaPaths): Promise<Health> {
  const supervisor = rec.pid > 0 && isOurs(rec.pid, [SUPERVISOR_ROLE, paths.data])
  const chroma = rec.chromaPid > 0 && isOurs(rec.chromaPid, ['cli.mjs', paths.data])
  const token = supervisor && chroma ? await readToken(paths, false).catch(() => undefined) : undefined
  const ok = supervisor && chroma && rec.url !== '' && token !== undefined && (await heartbeat(rec.url, 2000, token)).ok
  return { ok, supervisor, chroma }
}

/** Stops whatever is left of a recorded server that is not (fully) healthy, or all of it. */
export async function stopRecorded(rec: ChromaServerRecord, paths: ChromaPaths, health: Health): Promise<void> {
  const pids: number[] = []
  if (health.supervisor) {
    signal(rec.pid, 'SIGTERM') // it stops chroma with SIGINT and exits
    pids.push(rec.pid)
  }
  if (health.chroma) {
    if (!health.supervisor) signal(rec.chromaPid, 'SIGINT')
    pids.push(rec.chromaPid)
  }
  if (pids.length === 0) return
  await waitDead(pids, KILL_AFTER_MS + 1000)
  killHard(
    pids.filter((p) => (p === rec.pid ? isOurs(p, [SUPERVISOR_ROLE, paths.data]) : isOurs(p, ['cli.mjs', paths.data]))),
  )
  await waitDead(pids, 2000)
}

/** Chroma processes on this data folder that no record names (a lost record, a dead supervisor). */
export async function killOrphans(paths: ChromaPaths): Promise<boolean> {
  const pids = findProcesses([paths.data]).filter((p) => p !== process.pid)
  if (pids.length === 0) return false
  const supervisors = pids.filter((p) => isOurs(p, [SUPERVISOR_ROLE]))
  for (const p of supervisors) signal(p, 'SIGTERM')
  for (const p of pids) if (!supervisors.includes(p)) signal(p, 'SIGINT')
  await waitDead(pids, KILL_AFTER_MS + 1000)
  killHard(pids.filter((p) => isOurs(p, [paths.data])))
  await waitDead(pids, 2000)
  return true
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig)
  } catch {
    /* gone */
  }
}

export function killHard(pids: (number | undefined)[]): void {
  for (const p of pids) if (p && alive(p)) signal(p, 'SIGKILL')
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export async function waitDead(pids: (number | undefined)[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (!pids.some((p) => p !== undefined && p > 0 && alive(p) && !zombie(p))) return true
    if (Date.now() > deadline) return false
    await sleep(50)
  }
}

/** A child of this process that exited but was not reaped yet counts as dead. */
function zombie(pid: number): boolean {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return st.slice(st.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return false
  }
}

/** The command line of a process, or undefined if it cannot be read (then pids are trusted alive-only). */
function cmdline(pid: number): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ')
  } catch (err) {
    if (process.platform === 'linux') return (err as NodeJS.ErrnoException).code === 'ENOENT' ? '' : undefined
  }
  try {
    return execFileSync('ps', ['-ww', '-o', 'command=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    })
  } catch {
    return ''
  }
}

function isOurs(pid: number, markers: string[]): boolean {
  if (!alive(pid) || zombie(pid)) return false
  const cmd = cmdline(pid)
  if (cmd === undefined) return true
  return markers.every((m) => cmd.includes(m))
}

/** Processes whose command line contains every marker (Linux /proc only; elsewhere none). */
function findProcesses(markers: string[]): number[] {
  let entries: string[]
  try {
    entries = fs.readdirSync('/proc')
  } catch {
    return []
  }
  const out: number[] = []
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue
    const pid = Number(e)
    let cmd: string
    try {
      cmd = fs.readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0').join(' ')
    } catch {
      continue
    }
    if (
      markers.every((m) => cmd.includes(m)) &&
      (cmd.includes('cli.mjs') || cmd.includes(SUPERVISOR_ROLE)) &&
      !zombie(pid)
    )
      out.push(pid)
  }
  return out
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms))
}
