/**
 * The texts a sandbox worker runs: its program (workerMain) and the trusted in-isolate code
 * (isolateMain), both taken from their compiled functions, so the same code runs from dist/ and
 * under jest (ts-jest compiles them like tsc does) without a separate build step or loader
 * (coverageShim keeps them running under `jest --coverage`).
 */
import { coverageShim } from '../../../lib/coverage-shim.js'
import { isolateMain } from './isolate.js'
import { workerMain } from './worker.js'

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
