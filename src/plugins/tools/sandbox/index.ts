/**
 * The tool sandbox: third-party tool code runs in fresh isolated-vm isolates inside separate
 * worker processes that the engine can kill. See pool.ts (parent side), worker.ts (the worker
 * process), isolate.ts (the trusted code inside each isolate), and README.md (the design).
 *
 * Writing a tool: an ES module whose default export is a function (sync or async) of the
 * arguments; its second argument is `host`:
 *
 *   export default async function (args, host) {
 *     const hits = await host.call('memory.search', { query: args.q }) // only granted capabilities
 *     return { hits }                                                   // JSON
 *   }
 *
 * The isolate has only ECMAScript built-ins: no require, process, import (static or dynamic),
 * timers, fetch, WebAssembly, SharedArrayBuffer or Atomics. Nothing survives between calls.
 */
export {
  createSandboxPool,
  nestedDeeperThan,
  SANDBOX_LIMITS,
  type SandboxPoolHandle,
  type SandboxPoolOptions,
} from './pool.js'
export type { Capabilities, SandboxCall, SandboxErrorCode, SandboxLimits, SandboxPool, SandboxResult } from './types.js'
