/**
 * Helpers for the learner's rewrite tests: scratch folders, fixtures from test/fixtures/learner/,
 * and rater child processes (test/support/learner-rater.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'learner')

export function fixtureText(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8')
}

export interface Scratch {
  root: string
  /** a fresh $MIRADOR_HOME and chains folder per call */
  fresh(): { home: string; dir: string }
  cleanup(): void
}

export function scratch(prefix = 'mirador-learner-'): Scratch {
  const root = mkdtempSync(path.join(tmpdir(), prefix))
  let n = 0
  return {
    root,
    fresh() {
      const base = path.join(root, `s${n++}`)
      const home = path.join(base, 'home')
      const dir = path.join(base, 'chains')
      mkdirSync(home, { recursive: true })
      mkdirSync(dir, { recursive: true })
      return { home, dir }
    },
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  }
}

/** Copies a fixture into `dir`, returning the copy's path. */
export function copyFixture(name: string, dir: string, as = name): string {
  const to = path.join(dir, as)
  copyFileSync(path.join(FIXTURES, name), to)
  return to
}

/** Temp files writeFileAtomic leaves behind in `dir` (`.name.pid.rand.tmp`). */
export function tempFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.endsWith('.tmp'))
}

/** Starts test/support/learner-rater.ts with `args` (see its header). */
export function startRater(args: string[]): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', './test/support/ts-loader.mjs', 'test/support/learner-rater.ts', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    },
  )
}

/** Runs a rater to the end; rejects on a non-zero exit with its stderr. */
export function runRater(args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = startRater(args)
    let out = ''
    let err = ''
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(out)
      else reject(new Error(`rater exited ${code ?? signal}: ${err}`))
    })
  })
}

/** Resolves when the child prints `word` on stdout (rejects if it exits first). */
export function waitForOutput(child: ChildProcess, word: string, timeoutMs = 30_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    let err = ''
    const timer = setTimeout(
      () => reject(new Error(`no "${word}" from the rater in ${timeoutMs} ms: ${err}`)),
      timeoutMs,
    )
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()))
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      if (out.includes(word)) {
        clearTimeout(timer)
        resolve()
      }
    })
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`rater exited (${code ?? signal}) before "${word}": ${err}`))
    })
  })
}

/** Kills `child` with SIGKILL and waits until it has exited (and been reaped). */
export function killHard(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGKILL')
  })
}
