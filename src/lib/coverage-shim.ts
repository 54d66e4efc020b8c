/**
 * Code that runs from its own source text (a function's `toString()`, evaluated in another process
 * or in an isolate) carries istanbul's counters under `jest --coverage` (`cov_x().s[3]++`), which
 * refer to the instrumented module. The shim defines each counter as a sink, so the same source
 * still runs.
 */

/** a value that absorbs every use: property reads and writes, calls, and arithmetic (as 0) */
const SINK =
  'var __sink=new Proxy(function(){},' +
  '{get:(t,k)=>k===Symbol.toPrimitive?()=>0:__sink,set:()=>true,apply:()=>__sink});'

/** Declarations that make `body`'s coverage counters harmless ('' when it has none). */
export function coverageShim(body: string): string {
  const counters = [...new Set(body.match(/\bcov_[A-Za-z0-9_]+(?=\(\))/g) ?? [])]
  return counters.length ? SINK + counters.map((n) => `var ${n}=()=>__sink;`).join('') : ''
}
