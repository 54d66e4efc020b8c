/**
 * Runs the Ollama test double as a process, for benchmarks and manual demos:
 *
 *   node --import ./test/support/ts-loader.mjs test/support/ollama-server-main.ts \
 *     --port 11434 --token-delay-ms 20 --first-token-delay-ms 200 --models llama3.2:1b,qwen2.5:7b
 *
 * (or the compiled .js of this file with plain `node`). It prints one JSON line,
 * `{"url":"http://127.0.0.1:PORT","port":PORT,"pid":PID}`, once it listens, and stops on SIGINT or
 * SIGTERM. Options come from flags, or from the env var OLLAMA_TEST_SERVER (a JSON object of
 * OllamaTestServerOptions, without `reply` functions); flags win.
 *
 * Flags: --port N, --host H, --token-delay-ms N, --first-token-delay-ms N, --tokens N,
 * --pull-delay-ms N, --pull-steps N, --create-delay-ms N, --version V, --models a,b (present),
 * --absent c,d (pullable, not present), --fault JSON (a Fault, e.g. '{"kind":"hang"}').
 */
import {
  DEFAULT_MODELS,
  startOllamaTestServer,
  type Fault,
  type OllamaTestServerOptions,
  type TestModel,
} from './ollama-server.js'

function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): OllamaTestServerOptions {
  const opts: OllamaTestServerOptions = env.OLLAMA_TEST_SERVER
    ? (JSON.parse(env.OLLAMA_TEST_SERVER) as OllamaTestServerOptions)
    : {}
  const num = (flag: string, v: string | undefined): number => {
    const n = Number(v)
    if (v === undefined || !Number.isFinite(n)) throw new Error(`${flag} needs a number, got ${v ?? 'nothing'}`)
    return n
  }
  let present: TestModel[] | undefined
  let absent: TestModel[] = []
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!
    const value = argv[i + 1]
    const list = (): TestModel[] =>
      (value ?? '')
        .split(',')
        .filter(Boolean)
        .map((name) => ({ name }))
    switch (flag) {
      case '--port':
        opts.port = num(flag, value)
        break
      case '--host':
        opts.host = value
        break
      case '--token-delay-ms':
        opts.tokenDelayMs = num(flag, value)
        break
      case '--first-token-delay-ms':
        opts.firstTokenDelayMs = num(flag, value)
        break
      case '--tokens':
        opts.tokens = num(flag, value)
        break
      case '--pull-delay-ms':
        opts.pullDelayMs = num(flag, value)
        break
      case '--pull-steps':
        opts.pullSteps = num(flag, value)
        break
      case '--create-delay-ms':
        opts.createDelayMs = num(flag, value)
        break
      case '--version':
        opts.version = value
        break
      case '--models':
        present = list()
        break
      case '--absent':
        absent = list().map((m) => ({ ...m, present: false }))
        break
      case '--fault':
        opts.fault = JSON.parse(value ?? 'null') as Fault | null
        break
      default:
        throw new Error(`unknown flag ${flag}`)
    }
    i++
  }
  if (present || absent.length) opts.models = [...(present ?? opts.models ?? DEFAULT_MODELS), ...absent]
  return opts
}

async function main(): Promise<void> {
  const server = await startOllamaTestServer(parseArgs(process.argv.slice(2)))
  process.stdout.write(JSON.stringify({ url: server.url, port: server.port, pid: process.pid }) + '\n')
  const stop = (): void => {
    void server.close().then(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

main().catch((err: unknown) => {
  process.stderr.write(`ollama test server: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
