/**
 * `mirador doctor`'s check of the tool sandbox: does isolated-vm load in a worker process? A pool
 * of one worker is started, runs one trivial call, and is closed; the worker is gone when this
 * returns (checked), so doctor leaves no process behind.
 */
export interface SandboxReport {
  ok: boolean
  /** off: the tools plugin is turned off, nothing was started */
  state: 'off' | 'ok' | 'failed'
  detail: string
  /** starting the worker and running the call */
  ms?: number
  /** closing the pool until its worker exited */
  closeMs?: number
  /** the worker that ran the call, no longer running */
  workerPid?: number
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

export async function checkSandbox(opts: { plugin: boolean }): Promise<SandboxReport> {
  if (!opts.plugin)
    return { ok: true, state: 'off', detail: 'the tools plugin is turned off (builtins: { tools: false })' }
  const t0 = performance.now()
  const { createSandboxPool } = await import('../../plugins/tools/sandbox/index.js')
  const pool = createSandboxPool({ size: 1 })
  const result = await pool.run({
    source: 'export default (args) => args.n + 1',
    filename: 'doctor-check.js',
    args: { n: 41 },
    limits: { timeoutMs: 10_000, memoryMb: 32, maxOutputBytes: 1024 },
    capabilities: [],
  })
  const ms = Math.round(performance.now() - t0)
  const workerPid = pool.pids()[0]
  const c0 = performance.now()
  await pool.close()
  const closeMs = Math.round(performance.now() - c0)
  const common = { ms, closeMs, ...(workerPid !== undefined ? { workerPid } : {}) }
  const failed = (why: string): SandboxReport => ({ ok: false, state: 'failed', ...common, detail: why })
  if (workerPid !== undefined && alive(workerPid))
    return failed(`the sandbox worker (pid ${workerPid}) did not stop when its pool was closed`)
  if (!result.ok)
    return failed(
      `tools cannot run: ${result.code}: ${result.error}. ` +
        'Rebuild isolated-vm (npm rebuild isolated-vm; it compiles with node-gyp)',
    )
  if (result.value !== 42) return failed(`the sandbox answered ${JSON.stringify(result.value)} to 41 + 1`)
  return {
    ok: true,
    state: 'ok',
    ...common,
    detail: `isolated-vm loads in a worker process: started it and ran a call in ${ms} ms, stopped it in ${closeMs} ms`,
  }
}
