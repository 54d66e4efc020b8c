/**
 * The texts a sandbox worker runs: its program (workerMain) and the trusted in-isolate code
 * (isolateMain), both taken from their compiled functions, so the same code runs from dist/ and
 * under jest (ts-jest compiles them like tsc does) without a separate build step or loader.
 *
 * Under `jest --coverage` the functions' source carries istanbul counters (`cov_x().s[3]++`) that
 * refer to the instrumented module; the shim defines them as a sink so the same source still runs
 * (the approach of src/plugins/memory/chroma/supervisor.ts).
 */
import { isolateMain } from './isolate.js'
import { workerMain } from './worker.js'

function coverageShim(body: string): string {
  const counters = [...new Set(body.match(/\bcov_[A-Za-z0-9_]+(?=\(\))/g) ?? [])]
  return counters.length
    ? `var __sink=new Proxy(function(){},{get:(t,k)=>k===Symbol.toPrimitive?()=>0:__sink,set:()=>true,apply:()=>__sink});${counters.map((n) => `var ${n}=()=>__sink;`).join('')}`
    : ''
}

/** the worker's program: a function body run with `require` and `boot` in scope */
export function workerProgram(): string {
  const body = `(${workerMain.toString()})(require, boot);`
  return `"use strict";${coverageShim(body)}${body}`
}

/** declarations that define `isolateMain` (a function declaration, plus the shim if any) */
export function isolateSource(): string {
  const fn = isolateMain.toString()
  if (!fn.startsWith('function isolateMain(')) throw new Error('isolateMain must stay a plain function declaration')
  return `${coverageShim(fn)}${fn}`
}
