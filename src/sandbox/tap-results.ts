/**
 * A sandboxed tap's answer, brought back into the run: the changes a host made to its arguments
 * (only the fields a hook lets a plugin change) and the value it returned, checked for its hook's
 * kind. A route is honoured only for a chain of the catalog, by name, never a path the plugin chose.
 */
import type { ChainDef } from '../engine/types.js'
import type { HookName } from '../engine/hooks.js'
import { isContext, toData } from './hook-data.js'
import { HOOK_KINDS } from './hook-kinds.js'
import type { ResultMessage } from './protocol.js'

export function applyChanges(hook: HookName, args: unknown[], result: ResultMessage): void {
  const changes = result.changes
  if (!changes) return
  const summary: unknown = isContext(args[1]) ? Reflect.get(args[1], 'summary') : undefined
  if (hook === 'stageDone' && summary && typeof summary === 'object') {
    const before = JSON.stringify(toData(summary))
    const after = (changes.summary ?? {}) as Record<string, unknown>
    const old = JSON.parse(before) as Record<string, unknown>
    for (const [k, v] of Object.entries(after)) {
      if (JSON.stringify(old[k]) !== JSON.stringify(v)) Reflect.set(summary, k, v)
    }
  }
  if (hook === 'forget') {
    const req = args[0] as { removed: Record<string, number>; runIds?: string[] }
    const removed = (changes.removed ?? {}) as Record<string, unknown>
    for (const [k, v] of Object.entries(removed)) if (typeof v === 'number') req.removed[k] = v
    if (Array.isArray(changes.runIds)) req.runIds = changes.runIds.filter((r): r is string => typeof r === 'string')
  }
}

export async function resultValue(
  hook: HookName,
  value: unknown,
  neutral: unknown,
  chains: () => Promise<ChainDef[]> | undefined,
): Promise<unknown> {
  const kind = HOOK_KINDS[hook]
  if (kind === 'waterfall') return value ?? neutral
  if (kind !== 'bail') return undefined
  if (hook !== 'route' || !value) return value ?? undefined
  const routed = value as { chain?: unknown; queryType?: unknown }
  if (typeof routed.chain !== 'string') return undefined
  const chain = ((await chains()) ?? []).find((c) => c.name === routed.chain)
  if (!chain) return undefined
  return { chain, ...(typeof routed.queryType === 'string' ? { queryType: routed.queryType } : {}) }
}
