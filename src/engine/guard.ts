/**
 * Isolates plugins from each other and from the run: every tap is wrapped as it is registered, so
 * a tap that throws is reported (by plugin name) and then behaves as if it had returned nothing.
 * For every hook kind in hooks.ts that is the neutral answer: a waterfall keeps its value, a bail
 * asks the next tap, a series or parallel hook goes on.
 */
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

export function guardHooks(hooks: Hooks, onFailure: (f: TapFailure) => void): Guard {
  const guard: Guard = { current: undefined, disabled: new Set() }
  for (const [hookName, hook] of Object.entries(hooks)) {
    hook.intercept({
      register(tap) {
        const plugin = guard.current ?? tap.name
        const fn = tap.fn as (...args: unknown[]) => unknown
        const fail = (error: unknown, args: unknown[]) => onFailure({ hook: hookName, plugin, error, args })
        const off = () => guard.disabled.has(plugin)
        if (tap.type === 'promise') {
          tap.fn = async (...args: unknown[]) => {
            if (off()) return undefined
            try {
              return await fn(...args)
            } catch (error) {
              fail(error, args)
              return undefined
            }
          }
        } else if (tap.type === 'async') {
          tap.fn = (...args: unknown[]) => {
            const callback = args.pop() as (err?: unknown, result?: unknown) => void
            if (off()) return callback()
            try {
              fn(...args, (err: unknown, result: unknown) => {
                if (err) {
                  fail(err, args)
                  return callback()
                }
                callback(null, result)
              })
            } catch (error) {
              fail(error, args)
              callback()
            }
          }
        } else {
          tap.fn = (...args: unknown[]) => {
            if (off()) return undefined
            try {
              return fn(...args)
            } catch (error) {
              fail(error, args)
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
