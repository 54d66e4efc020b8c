/**
 * The entry point behind bin/run.js. `chain run` and `ask` take a fast path that does not load @oclif/core
 * (about 60 ms here), so its acknowledgment is on screen within a few milliseconds of Node itself;
 * everything else, and `chain run --help`, goes through oclif.
 */
import path from 'node:path'
import { parseWithSpec } from './argv.js'
import { onOutputClosed } from './closed-output.js'
import { askSpec, chainRunSpec } from './spec.js'

function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) =>
    stream.destroyed || stream.writableLength === 0 ? resolve() : stream.write('', () => resolve()),
  )
}

const HELP = new Set(['--help', '-h', 'help'])

export async function main(argv: string[], startedAt = performance.now()): Promise<void> {
  const run = argv[0] === 'chain' && argv[1] === 'run'
  const ask = argv[0] === 'ask'
  // A reader that went away (`| head`) is no reason for a stack trace: a run stops as on Ctrl-C
  // (src/cli/chain-run.ts); other commands finish their work (files written, processes stopped)
  // without printing more.
  onOutputClosed(process.stdout, () => {})
  onOutputClosed(process.stderr, () => {})
  if ((run || ask) && !argv.slice(run ? 2 : 1).some((a) => HELP.has(a))) {
    const { processIO, runChainCommand } = await import('./chain-run.js')
    let code: number
    try {
      const { args, flags } = run ? parseWithSpec(chainRunSpec, argv.slice(2)) : parseWithSpec(askSpec, argv.slice(1))
      const chain = run ? args.chain! : 'auto'
      code = await runChainCommand(
        { chain, ...(args.query !== undefined ? { query: args.query } : {}), ...flags },
        processIO(startedAt),
      )
    } catch (err) {
      process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`)
      code = 2
    }
    // Runtimes may hold sockets or native handles; the run is over, so leave now, but only once
    // everything written has reached the pipe (a pipe's writes queue when its reader is slower).
    await Promise.all([drained(process.stdout), drained(process.stderr)])
    process.exit(code)
  }
  // shell completion asks for names at each TAB: answered without oclif (src/cli/complete/names.ts)
  if (argv[0] === '__complete') {
    const { completeCommand } = await import('./complete/names.js')
    process.exitCode = await completeCommand(argv.slice(1), { cwd: process.cwd(), env: process.env }, process.stdout)
    return
  }
  const { execute } = await import('@oclif/core')
  const { PACKAGE_ROOT } = await import('../engine/package-root.js')
  await execute({ dir: path.join(PACKAGE_ROOT, 'package.json'), args: argv })
}
