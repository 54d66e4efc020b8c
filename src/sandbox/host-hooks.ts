/**
 * Inside the host: the hooks the plugin taps, with tapable's tap/tapPromise/tapAsync, and the
 * calls that run them as the engine's hooks would (a waterfall passes its value on, a bail stops at
 * the first answer). Only the declared hooks accept taps; tapping another is refused by name.
 */
import type { HookName } from '../engine/hooks.js'
import { HOOK_KINDS } from './hook-kinds.js'

type TapFn = (...args: unknown[]) => unknown
interface Tap {
  type: 'sync' | 'promise' | 'async'
  fn: TapFn
}

export class HostHook {
  readonly taps: Tap[] = []
  constructor(readonly name: HookName) {}
  tap(_options: unknown, fn: TapFn): void {
    this.taps.push({ type: 'sync', fn })
  }
  tapPromise(_options: unknown, fn: TapFn): void {
    this.#async()
    this.taps.push({ type: 'promise', fn })
  }
  tapAsync(_options: unknown, fn: TapFn): void {
    this.#async()
    this.taps.push({ type: 'async', fn })
  }
  isUsed(): boolean {
    return this.taps.length > 0
  }
  intercept(): void {
    throw sandboxError(`a sandboxed plugin cannot intercept the ${this.name} hook: that needs trusted: true`)
  }
  #async(): void {
    if (HOOK_KINDS[this.name] === 'sync') throw sandboxError(`the ${this.name} hook takes only synchronous taps (tap)`)
  }
}

export function sandboxError(message: string): Error {
  return Object.assign(new Error(message), { code: 'PLUGIN_SANDBOX' })
}

function runTap(tap: Tap, args: unknown[]): unknown {
  if (tap.type !== 'async') return tap.fn(...args)
  return new Promise((resolve, reject) => {
    tap.fn(...args, (err: unknown, value: unknown) => (err ? reject(err as Error) : resolve(value)))
  })
}

/** Runs a hook's taps on the arguments, as its kind does; returns what the engine's call would. */
export async function callHook(hook: HostHook, args: unknown[]): Promise<unknown> {
  const kind = HOOK_KINDS[hook.name]
  if (kind === 'waterfall') {
    let value = args[0]
    for (const tap of hook.taps) {
      const next = await runTap(tap, [value, ...args.slice(1)])
      if (next !== undefined) value = next
    }
    return value
  }
  if (kind === 'bail') {
    for (const tap of hook.taps) {
      const answer = await runTap(tap, args)
      if (answer !== undefined) return answer
    }
    return undefined
  }
  if (kind === 'parallel') {
    await Promise.all(hook.taps.map((tap) => runTap(tap, args)))
    return undefined
  }
  for (const tap of hook.taps) await runTap(tap, args)
  return undefined
}
