/**
 * Isolates plugins from each other and from the run: every tap is wrapped as it is registered, so
 * a tap that throws is reported (by plugin name) and then behaves as if it had returned nothing.
 * For every hook kind in hooks.ts that is the neutral answer: a waterfall keeps its value, a bail
 * asks the next tap, a series or parallel hook goes on.
 */
import { MiradorError } from './errors.js'
import type { Hooks } from './hooks.js'

export interface TapFailure {
  hook: string
  plugin: string
  error: unknown
  /** the arguments the tap was called with (they tell which run it was) */
  args: unknown[]
}

export interface Guard {
  /** the plugin whose `apply` is running, so its taps are attributed to it */
  current: string | undefined
  /** plugins whose taps are switched off (their `apply` failed) */
  readonly disabled: Set<string>
}

/**
 * Hooks whose taps answer a request (which chain, which model, what a tool returned) or carry out
 * what the user asked (a rating, forgetting): a MiradorError thrown there is the answer, "no,
 * because…" (no chain can run here, a model file that is missing, a run that was never recorded, a
 * store that is down), so it reaches the caller with its own code and message instead of being
 * reported as a broken plugin.
 */
const ANSWERING_HOOKS = new Set(['route', 'model', 'toolCall', 'feedback', 'forget'])

export function guardHooks(hooks: Hooks, onFailure: (f: TapFailure) => void): Guard {
  const guard: Guard = { current: undefined, disabled: new Set() }
  for (const [hookName, hook] of Object.entries(hooks)) {
    const answering = ANSWERING_HOOKS.has(hookName)
    hook.intercept({
      register(tap) {
        const plugin = guard.current ?? tap.name
        const fn = tap.fn as (...args: unknown[]) => unknown
        /** reports the failure and says so, or says it must reach the caller */
        const swallow = (error: unknown, args: unknown[]): boolean => {
          if (answering && error instanceof MiradorError) return false
          onFailure({ hook: hookName, plugin, error, args })
          return true
        }
        const off = () => guard.disabled.has(plugin)
        if (tap.type === 'promise') {
          tap.fn = async (...args: unknown[]) => {
            if (off()) return undefined
            try {
              return await fn(...args)
            } catch (error) {
              if (!swallow(error, args)) throw error
              return undefined
            }
          }
        } else if (tap.type === 'async') {
          tap.fn = (...args: unknown[]) => {
            const callback = args.pop() as (err?: unknown, result?: unknown) => void
            if (off()) return callback()
            try {
              fn(...args, (err: unknown, result: unknown) => {
                if (err) return swallow(err, args) ? callback() : callback(err)
                callback(null, result)
              })
            } catch (error) {
              if (swallow(error, args)) callback()
              else callback(error)
            }
          }
        } else {
          tap.fn = (...args: unknown[]) => {
            if (off()) return undefined
            try {
              return fn(...args)
            } catch (error) {
              if (!swallow(error, args)) throw error
              return undefined
            }
          }
        }
        return tap
      },
    })
  }
  return guard
}
