import { describe, expect, it } from '@jest/globals'
import { budgetOf, DEFAULT_MAX_LOADED } from '../../src/plugins/models/budget.js'

describe('model budget', () => {
  it('takes memory_gb and max_loaded from the manifest', async () => {
    expect(await budgetOf({ budget: { memory_gb: 12, max_loaded: 2 }, models: {} })).toEqual({
      memoryGb: 12,
      maxLoaded: 2,
      source: 'manifest',
    })
  })

  it('auto reads the free memory with systeminformation and keeps 90 % of it', async () => {
    const b = await budgetOf({ budget: { memory_gb: 'auto' }, models: {} }, {})
    const os = await import('node:os')
    expect(b.source).toBe('auto')
    expect(b.maxLoaded).toBe(DEFAULT_MAX_LOADED)
    expect(b.memoryGb).toBeGreaterThan(0)
    expect(b.memoryGb).toBeLessThanOrEqual((0.9 * os.totalmem()) / 1e9 + 0.01)
  })

  it('MIRADOR_FREE_MEMORY_GB stands in for the reading, and is checked', async () => {
    expect(await budgetOf(undefined, { MIRADOR_FREE_MEMORY_GB: '10' })).toEqual({
      memoryGb: 9,
      maxLoaded: DEFAULT_MAX_LOADED,
      source: 'auto',
    })
    await expect(budgetOf(undefined, { MIRADOR_FREE_MEMORY_GB: 'lots' })).rejects.toMatchObject({ code: 'USAGE' })
  })
})
