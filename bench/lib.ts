/** Small helpers for the benchmarks: timing child processes, medians, the table. */
import { spawn } from 'node:child_process'

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

/** Spawns a command and resolves with ms from spawn to the first stdout byte, and to exit. */
export function timeChild(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ firstByte: number; exit: number; stdout: string; code: number | null }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    let firstByte = -1
    let stdout = ''
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    child.stdout.on('data', (d: Buffer) => {
      if (firstByte < 0) firstByte = performance.now() - t0
      stdout += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ firstByte, exit: performance.now() - t0, stdout, code }))
  })
}

export interface Row {
  benchmark: string
  measured: string
  baseline: string
  ratio: string
  goal: string
  met: string
}

export function printTable(rows: Row[]): void {
  const cols: (keyof Row)[] = ['benchmark', 'measured', 'baseline', 'ratio', 'goal', 'met']
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => r[c].length)))
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(width[i]!)).join(' | ')} |`
  console.log(line(cols))
  console.log(`|${width.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of rows) console.log(line(cols.map((c) => r[c])))
}

export const fmt = (ms: number) => `${ms.toFixed(ms < 10 ? 2 : 0)} ms`
