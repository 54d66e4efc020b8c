/**
 * Jest environment for tests that run node-llama-cpp (select it with a
 * `@jest-environment ./test/support/environment.cjs` docblock).
 *
 * Jest evaluates test modules in their own vm context, so node-llama-cpp's JavaScript sees that
 * context's `Array` and `Promise`, while its native addon creates values in Node's main context.
 * node-llama-cpp tests native results with `instanceof Array` (e.g. the [token, probabilities,
 * confidence] triple that `evaluateWithMetadata({confidence: true})` samples); across contexts that
 * is false, so under plain jest the triple itself is taken for the token: no text and wrong tokens.
 * Outside jest there is one context and nothing of this applies.
 *
 * The fix: make `instanceof` on this context's Array and Promise realm-independent, using the
 * checks the language provides for that (Array.isArray, util.types.isPromise).
 */
'use strict'
const { TestEnvironment } = require('jest-environment-node')
const { types } = require('node:util')

class NativeAddonEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context)
    const g = this.global
    Object.defineProperty(g.Array, Symbol.hasInstance, { value: (v) => Array.isArray(v), configurable: true })
    Object.defineProperty(g.Promise, Symbol.hasInstance, { value: (v) => types.isPromise(v), configurable: true })
  }
}

module.exports = NativeAddonEnvironment
