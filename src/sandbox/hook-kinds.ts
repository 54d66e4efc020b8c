/** How each hook of hooks.ts runs its taps, and whether its second argument is the run's context. */
import type { HookName } from '../engine/hooks.js'

export type HookKind = 'waterfall' | 'bail' | 'series' | 'parallel' | 'sync'

export const HOOK_KINDS: Readonly<Record<HookName, HookKind>> = {
  route: 'bail',
  priors: 'waterfall',
  plan: 'waterfall',
  prompt: 'waterfall',
  model: 'bail',
  tools: 'waterfall',
  toolCall: 'bail',
  event: 'sync',
  stageDone: 'series',
  runDone: 'parallel',
  feedback: 'series',
  forget: 'series',
}

/** Hooks called as `(value, context)`; the others (priors, event, feedback, forget) have no context. */
export function hasContext(hook: HookName): boolean {
  return hook !== 'priors' && hook !== 'event' && hook !== 'feedback' && hook !== 'forget'
}
