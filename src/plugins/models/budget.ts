/**
 * How much the model manager may keep loaded. `memory_gb: auto` means 90 % of the memory the
 * machine has available when Mirador first needs to know, read with systeminformation (imported
 * only then: it costs about 40 ms). MIRADOR_FREE_MEMORY_GB stands in for the reading, for tests
 * and for users who want to say it themselves.
 */
import type { ManifestFile } from '../../engine/config/index.js'
import { MiradorError } from '../../engine/errors.js'

export interface Budget {
  memoryGb: number
  maxLoaded: number
  /** where memoryGb came from, for `models ls` and events */
  source: 'manifest' | 'auto'
}

/** Ollama's own default for a CPU machine. */
export const DEFAULT_MAX_LOADED = 3
const AUTO_SHARE = 0.9

async function availableGb(env: NodeJS.ProcessEnv): Promise<number> {
  const given = env.MIRADOR_FREE_MEMORY_GB
  if (given !== undefined) {
    const gb = Number(given)
    if (!Number.isFinite(gb) || gb <= 0)
      throw new MiradorError('USAGE', `MIRADOR_FREE_MEMORY_GB must be a number of GB above 0, not "${given}"`)
    return gb
  }
  const si = await import('systeminformation')
  const mem = await si.mem()
  return mem.available / 1e9
}

export async function budgetOf(
  manifest: ManifestFile | undefined,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Budget> {
  const b = manifest?.budget
  const maxLoaded = b?.max_loaded ?? DEFAULT_MAX_LOADED
  if (typeof b?.memory_gb === 'number') return { memoryGb: b.memory_gb, maxLoaded, source: 'manifest' }
  return { memoryGb: Math.round(AUTO_SHARE * (await availableGb(env)) * 100) / 100, maxLoaded, source: 'auto' }
}
