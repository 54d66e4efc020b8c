/**
 * The trusted code that runs INSIDE each isolate, before the tool's module is evaluated. It is
 * never imported: the worker runs its source text (`isolateMain.toString()`) in every fresh
 * context, so it may use only its parameters and the context's own built-ins.
 *
 * It exists so that no value the tool controls is ever handed to isolated-vm or to the host:
 *
 * - it captures the built-ins it needs (JSON.parse/stringify, Reflect.apply, Object.create, the
 *   Promise constructor and `then`, Error, String.prototype.slice …) while the context is
 *   pristine, so a tool that replaces or booby-traps them later changes nothing here;
 * - it deletes WebAssembly, SharedArrayBuffer and Atomics from the global object (the worker also
 *   starts Node with --no-expose-wasm);
 * - `run` calls the tool's default export, waits for its promise through a promise of its own
 *   (whose `constructor` is pinned, so no Promise species lookup runs tool code on its behalf),
 *   turns the result into size-checked JSON text and the errors into short strings, and reports
 *   either through `done(kind + text)`: the only thing that leaves is a primitive string. Every
 *   entry into the isolate runs under isolated-vm's timeout, so getters, toJSON traps, Proxies and
 *   cycles in the result run as tool code under the deadline; a result that cannot be turned into
 *   JSON is reported as such;
 * - it hands the tool `host`, a frozen object whose `call(name, args)` is the only way out: the
 *   name must be a granted capability, the arguments become JSON text here (bounded), and the
 *   worker forwards the text to the parent. The answer comes back as JSON text through `settle` and
 *   is parsed here, so the tool only ever sees objects of its own realm.
 *
 * The `done` and `request` functions (isolated-vm Callbacks: they copy their arguments) live only in
 * this closure, and the code is strict, so stack-trace tricks (CallSite getThis/getFunction,
 * `fn.caller`) do not reach them.
 *
 * Kinds reported through `done`: V (JSON text of the value), F (the tool failed: a message),
 * O (the output is too large or not JSON), M (an allocation failed: memory).
 */

export interface IsolateConfig {
  /** capability names the tool may call */
  granted: string[]
  /** most characters of result JSON (the parent checks bytes again) */
  maxOutputChars: number
  /** most characters of JSON arguments for one capability call */
  maxCallArgChars: number
  /** most capability calls in one tool call, and at once */
  maxCalls: number
  maxInFlight: number
}

export interface IsolateApi {
  /** calls the tool; the outcome arrives through `done` */
  run(namespace: unknown, argsJson: string): void
  /** answers a capability call: ok with JSON text, or not ok with a message */
  settle(callId: number, ok: boolean, payload: string): void
}

export type DoneFn = (kindAndText: string) => void
/** forwards a capability call; returns '' when sent, or why it was refused */
export type RequestFn = (callId: number, name: string, argsJson: string) => string

export function isolateMain(done: DoneFn, request: RequestFn, configJson: string): IsolateApi {
  'use strict'
  // ---- captured while the context is pristine (no tool code has run yet) ----
  const G = globalThis as Record<string, unknown>
  const create = Object.create as (proto: null) => Record<string | number, unknown>
  const assign = Object.assign
  const freeze = Object.freeze
  const defineProperty = Object.defineProperty
  const getOwnPropertyDescriptor = Object.getOwnPropertyDescriptor
  const getPrototypeOf = Object.getPrototypeOf
  const apply = Reflect.apply
  const deleteProperty = Reflect.deleteProperty
  const parse = JSON.parse
  const stringify = JSON.stringify
  const PromiseCtor = Promise
  const promiseThen = Promise.prototype.then
  const ErrorCtor = Error
  const TypeErrorCtor = TypeError
  const StringCtor = String
  const slice = String.prototype.slice

  const removed = ['WebAssembly', 'SharedArrayBuffer', 'Atomics']
  for (let i = 0; i < removed.length; i++) deleteProperty(G, removed[i] as string)

  const config = parse(configJson) as IsolateConfig
  const maxOutputChars = config.maxOutputChars
  const maxCallArgChars = config.maxCallArgChars
  const maxCalls = config.maxCalls
  const maxInFlight = config.maxInFlight
  const granted = create(null)
  const grantedList: string[] = []
  for (let i = 0; i < config.granted.length; i++) {
    const name = config.granted[i] as string
    granted[name] = true
    grantedList[i] = name
  }

  let settled = false
  let seq = 0
  let calls = 0
  let inFlight = 0
  const pending = create(null)

  /** a descriptor without a prototype: defineProperty must not read tool getters on Object.prototype */
  function pinned(value: unknown): PropertyDescriptor {
    const d = create(null)
    d.value = value
    return d as PropertyDescriptor
  }

  function clip(s: string, n: number): string {
    return s.length > n ? (apply(slice, s, [0, n]) as string) + '…' : s
  }

  /** A short description of anything thrown; reads data properties only (never calls toString). */
  function describe(e: unknown): string {
    try {
      if (e === null || (typeof e !== 'object' && typeof e !== 'function')) {
        return clip(typeof e === 'string' ? e : typeof e === 'symbol' ? 'a symbol' : StringCtor(e), 300)
      }
      let message = ''
      const m = getOwnPropertyDescriptor(e, 'message')
      if (m !== undefined && typeof m.value === 'string') message = m.value
      let name = ''
      let o: unknown = e
      for (let i = 0; i < 8 && o !== null && o !== undefined; i++) {
        const d = getOwnPropertyDescriptor(o, 'name')
        if (d !== undefined) {
          if (typeof d.value === 'string') name = d.value
          break
        }
        o = getPrototypeOf(o)
      }
      if (name === '') name = 'a thrown value'
      return clip(message === '' ? name : name + ': ' + message, 300)
    } catch {
      return 'the tool threw a value that cannot be read'
    }
  }

  function finish(kind: string, text: string): void {
    if (settled) return
    settled = true
    done(kind + text)
  }

  function failed(e: unknown): void {
    const text = describe(e)
    finish(text === 'RangeError: Array buffer allocation failed' ? 'M' : 'F', text)
  }

  /** JSON.stringify's replacer: functions and symbols are refused, not silently dropped */
  function replacer(_key: string, value: unknown): unknown {
    const t = typeof value
    if (t === 'function' || t === 'symbol') throw new TypeErrorCtor('a ' + t + ' is not JSON')
    return value
  }

  function deliver(value: unknown): void {
    if (settled) return
    let json: unknown
    try {
      json = value === undefined ? 'null' : stringify(value, replacer)
    } catch (e) {
      finish('O', 'the result cannot be turned into JSON: ' + describe(e))
      return
    }
    if (typeof json !== 'string') {
      finish('O', 'the result cannot be turned into JSON')
      return
    }
    if (json.length > maxOutputChars) {
      finish('O', 'the result is larger than ' + maxOutputChars + ' bytes of JSON')
      return
    }
    finish('V', json)
  }

  function call(name: unknown, args: unknown): Promise<unknown> {
    return new PromiseCtor(function (resolve, reject) {
      if (typeof name !== 'string')
        throw new TypeErrorCtor('host.call(name, args): the name of a capability is a string')
      if (granted[name] !== true)
        throw new ErrorCtor('the capability "' + clip(name, 100) + '" was not granted to this tool')
      if (settled) throw new ErrorCtor('the tool call has ended')
      if (calls >= maxCalls)
        throw new ErrorCtor('too many capability calls (at most ' + maxCalls + ' in one tool call)')
      if (inFlight >= maxInFlight)
        throw new ErrorCtor('too many capability calls at once (at most ' + maxInFlight + ')')
      let json: unknown
      try {
        json = args === undefined ? 'null' : stringify(args, replacer)
      } catch (e) {
        throw new TypeErrorCtor('the arguments of ' + name + ' cannot be turned into JSON: ' + describe(e))
      }
      if (typeof json !== 'string') throw new TypeErrorCtor('the arguments of ' + name + ' cannot be turned into JSON')
      if (json.length > maxCallArgChars)
        throw new ErrorCtor('the arguments of ' + name + ' are larger than ' + maxCallArgChars + ' bytes of JSON')
      // the checks above may have run tool code (toJSON, getters): look again
      if (settled) throw new ErrorCtor('the tool call has ended')
      if (calls >= maxCalls || inFlight >= maxInFlight) throw new ErrorCtor('too many capability calls')
      const id = ++seq
      const entry = create(null)
      entry.resolve = resolve
      entry.reject = reject
      entry.name = name
      pending[id] = entry
      calls++
      inFlight++
      const refused = request(id, name, json)
      if (typeof refused === 'string' && refused !== '') {
        deleteProperty(pending, id)
        inFlight--
        throw new ErrorCtor(refused)
      }
    })
  }

  const host = create(null)
  host.call = freeze(call)
  host.capabilities = freeze(grantedList)
  freeze(host)

  function run(namespace: unknown, argsJson: string): void {
    let fn: unknown
    try {
      fn = (namespace as { default?: unknown }).default
    } catch (e) {
      finish('F', 'the tool module did not finish loading (' + describe(e) + ')')
      return
    }
    if (typeof fn !== 'function') {
      finish('F', 'the tool module must export a function as its default export')
      return
    }
    let args: unknown
    try {
      args = parse(argsJson)
    } catch {
      finish('F', 'the arguments are not JSON')
      return
    }
    let out: unknown
    try {
      out = apply(fn as (...a: unknown[]) => unknown, undefined, [args, host])
    } catch (e) {
      failed(e)
      return
    }
    try {
      // resolving reads `then` of a thenable result (tool code, under the timeout); our promise's
      // `constructor` is pinned to undefined so `then` below uses the intrinsic Promise, not a species
      const p = new PromiseCtor(function (resolve) {
        resolve(out)
      })
      defineProperty(p, 'constructor', pinned(undefined))
      apply(promiseThen, p, [deliver, failed])
    } catch (e) {
      failed(e)
    }
  }

  function settle(callId: number, ok: boolean, payload: string): void {
    const entry = pending[callId] as
      | { resolve: (v: unknown) => void; reject: (e: unknown) => void; name: string }
      | undefined
    if (entry === undefined) return
    deleteProperty(pending, callId)
    inFlight--
    if (!ok) {
      entry.reject(new ErrorCtor(entry.name + ': ' + payload))
      return
    }
    let value: unknown
    try {
      value = parse(payload)
    } catch {
      entry.reject(new ErrorCtor('the answer of ' + entry.name + ' is not JSON'))
      return
    }
    entry.resolve(value)
  }

  return freeze(assign(create(null), { run, settle }))
}
