/**
 * What the pool needs around its worker processes: where isolated-vm is (the worker may read only
 * that folder), the Node flags a worker runs with, killing every live worker when the process
 * exits, and small guards for what a worker sends back (it runs hostile code).
 */
import type { ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import path from 'node:path'

export function clamp(v: unknown, r: { min: number; max: number; fallback: number }): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.min(r.max, Math.max(r.min, Math.floor(v))) : r.fallback
}

/** A message for people: no control characters, bounded. */
export function clean(s: string, max = 500): string {
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: they are replaced
  const t = s.replace(/\s*[\u0000-\u001f\u007f-\u009f\u2028\u2029]+\s*/g, ' ').trim()
  return t.length > max ? `${t.slice(0, max)}…` : t
}

export function messageOf(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'string') return err
  try {
    return String(err)
  } catch {
    return 'unknown error'
  }
}

/** true when arrays/objects nest deeper than `max` (iterative: safe on hostile input) */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]]
  while (stack.length > 0) {
    const [v, d] = stack.pop() as [unknown, number]
    if (v === null || typeof v !== 'object') continue
    if (d >= max) return true
    for (const child of Array.isArray(v) ? v : Object.values(v))
      if (child !== null && typeof child === 'object') stack.push([child, d + 1])
  }
  return false
}

let ivmCache: { main: string; dir: string } | undefined
export function ivmLocation(): { main: string; dir: string } {
  if (!ivmCache) {
    const main = createRequire(import.meta.url).resolve('isolated-vm')
    ivmCache = { main, dir: path.dirname(main) }
  }
  return ivmCache
}

/** Node flags of a worker: no snapshot (isolated-vm needs it), no wasm, and the permission model when available. */
export function workerExecArgv(ivmDir: string): string[] {
  const flags = process.allowedNodeEnvironmentFlags
  const args = ['--no-node-snapshot', '--no-expose-wasm', '--no-warnings']
  const permission = flags.has('--permission')
    ? '--permission'
    : flags.has('--experimental-permission')
      ? '--experimental-permission'
      : undefined
  if (permission && flags.has('--allow-addons') && flags.has('--allow-fs-read'))
    args.push(permission, `--allow-fs-read=${ivmDir}`, '--allow-addons')
  return args
}

// every live worker of every pool, killed if the process exits
const live = new Set<ChildProcess>()

/** a worker that exited is no longer killed at exit */
export function untrack(child: ChildProcess): void {
  live.delete(child)
}
let exitHook = false
export function track(child: ChildProcess): void {
  live.add(child)
  if (!exitHook) {
    exitHook = true
    process.once('exit', () => {
      for (const c of live) {
        try {
          c.kill('SIGKILL')
        } catch {
          /* gone */
        }
      }
    })
  }
}
