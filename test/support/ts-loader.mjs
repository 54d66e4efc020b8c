/**
 * A minimal TypeScript loader for running test/support entry points as child processes
 * (benchmarks, manual demos) without a build step:
 *
 *   node --import ./test/support/ts-loader.mjs test/support/ollama-server-main.ts --port 11434
 *
 * It strips types with the project's own `typescript` (transpileModule, no type check) and maps
 * `./x.js` imports to `./x.ts` when only the .ts file exists, as tsconfig's NodeNext layout does.
 */
import { register } from 'node:module'
import { isMainThread } from 'node:worker_threads'

// the same file is the --import entry (main thread) and the hooks module (loader thread)
if (isMainThread) register(import.meta.url, import.meta.url)

export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context)
  } catch (err) {
    if (err?.code === 'ERR_MODULE_NOT_FOUND' && /^\.{1,2}\//.test(specifier) && specifier.endsWith('.js')) {
      return next(specifier.slice(0, -3) + '.ts', context)
    }
    throw err
  }
}

let ts
export async function load(url, context, next) {
  if (!url.startsWith('file:') || !url.endsWith('.ts')) return next(url, context)
  ts ??= (await import('typescript')).default
  const { readFile } = await import('node:fs/promises')
  const source = await readFile(new URL(url), 'utf8')
  const out = ts.transpileModule(source, {
    fileName: new URL(url).pathname,
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, sourceMap: false },
  })
  return { format: 'module', source: out.outputText, shortCircuit: true }
}
