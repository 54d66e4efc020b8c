/**
 * Records the hook traffic of a realistic run (a two-stage chain on scripted models, a router, a
 * rating and a forget) as the behaviour test replays it: src/sandbox/recorded-run.json.
 *   node --no-node-snapshot --import ./test/support/ts-loader.mjs test/sandbox/record-traffic.ts
 */
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { Engine } from '../../src/engine/engine.js'
import type { HookName } from '../../src/engine/hooks.js'
import { PACKAGE_ROOT } from '../../src/engine/package-root.js'
import { contextData, isContext, toData } from '../../src/sandbox/hook-data.js'
import type { RecordedCall, RecordedHookTraffic } from '../../src/sandbox/drive.js'
import { scriptedModels } from '../support/scripted-model.js'

const calls: RecordedCall[] = []
const record = (hook: HookName, args: unknown[]) => {
  const call: RecordedCall = { hook, value: toData(args[0]) }
  if (isContext(args[1])) {
    const { results, ...ctx } = contextData(args[1])
    call.ctx = { ...ctx, ...(results ? { results: [...results] } : {}) }
  }
  calls.push(call)
}
const engine = new Engine({ cwd: process.cwd(), home: '/home/user/.mirador', offline: true, memory: true, config: {} })
const chain = {
  name: 'quick-deep',
  value: {
    ack: 'On it.',
    stages: {
      draft: { model: 'quick', prompt: 'Answer briefly: {{query}}' },
      refine: { model: 'deep', prompt: 'Improve this draft: {{draft}}\nQuestion: {{query}}', after: ['draft'] },
    },
  },
}
engine.use(
  scriptedModels({ quick: { tokens: [' Paris', ' is', ' the', ' capital.'] }, deep: { tokens: [' Paris.'] } }).plugin,
)
engine.use({
  name: 'Recorder',
  apiVersion: 1,
  apply(e) {
    for (const hook of ['plan', 'prompt', 'tools', 'stageDone', 'runDone'] as const) {
      const h = e.hooks[hook] as { tap(name: string, fn: (...a: unknown[]) => unknown): void }
      h.tap('Recorder', (...args: unknown[]) => void record(hook, args))
    }
    e.hooks.route.tap('Recorder', (...args) => void record('route', args))
    e.hooks.event.tap('Recorder', (ev) => void record('event', [ev]))
    e.hooks.feedback.tap('Recorder', (rating) => void record('feedback', [rating]))
    e.hooks.forget.tap('Recorder', (req) => void record('forget', [req]))
  },
})
engine.hooks.route.tapPromise('Router', async () => ({ chain, queryType: 'fact' }))
const result = await engine.run({ chain: 'auto', query: 'What is the capital of France?', session: 'geo' })
await engine.hooks.feedback.promise({ runId: result.runId, rating: 5, comment: 'good' })
await engine.hooks.forget.promise({ runIds: [result.runId], removed: {} })
const traffic: RecordedHookTraffic = {
  description: 'chain: auto routed to a two-stage chain (draft, refine) on two models, then a rating and a forget',
  calls,
}
writeFileSync(path.join(PACKAGE_ROOT, 'src', 'sandbox', 'recorded-run.json'), JSON.stringify(traffic, null, 1) + '\n')
console.log(`${calls.length} calls recorded`)
