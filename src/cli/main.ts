/**
 * The entry point behind bin/run.js. `chain run` takes a fast path that does not load @oclif/core
 * (about 60 ms here), so its acknowledgment is on screen within a few milliseconds of Node itself;
 * everything else, and `chain run --help`, goes through oclif.
 */
import { parseWithSpec } from './argv.js'
import { chainRunSpec } from './spec.js'

function drained(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => (stream.writableLength === 0 ? resolve() : stream.write('', () => resolve())))
}

const HELP = new Set(['--help', '-h', 'help'])

export async function main(argv: string[], startedAt = performance.now()): Promise<void> {
  if (argv[0] === 'chain' && argv[1] === 'run' && !argv.slice(2).some((a) => HELP.has(a))) {
    const { runChainCommand } = await import('./chain-run.js')
    let code: number
    try {
      const { args, flags } = parseWithSpec(chainRunSpec, argv.slice(2))
      code = await runChainCommand({ chain: args.chain!, ...(args.query !== undefined ? { query: args.query } : {}), ...flags }, { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env, cwd: process.cwd(), startedAt })
    } catch (err) {
      process.stderr.write(`✗ ${err instanceof Error ? err.message : String(err)}\n`)
      code = 2
    }
    // Runtimes may hold sockets or native handles; the run is over, so leave now, but only once
    // everything written has reached the pipe (a pipe's writes queue when its reader is slower).
    await Promise.all([drained(process.stdout), drained(process.stderr)])
    process.exit(code)
  }
  const { execute } = await import('@oclif/core')
  await execute({ dir: new URL('../../package.json', import.meta.url).href, args: argv })
}
