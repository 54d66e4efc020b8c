import { Flags } from '@oclif/core'
import { miradorHome } from '../cli/paths.js'
import { setup } from '../cli/setup.js'
import { MiradorError } from '../engine/errors.js'
import { MiradorCommand } from './base.js'

/** Ollama's port plus one: the next free neighbour of the server OpenAI clients meet most locally. */
export const DEFAULT_PORT = 11435

export default class Serve extends MiradorCommand {
  static summary = 'Serve your chains as OpenAI-compatible models (GET /v1/models, POST /v1/chat/completions).'
  static description =
    'Each chain is a model whose id is its name, and each manifest model one too, as model/NAME (a chain of one ' +
    'stage); a chat completion runs the chain on the last user message, with the earlier messages as its ' +
    'conversation. X-Mirador-Session: NAME (or the `user` field) continues a session as --session does; ' +
    'X-Mirador-Memory: off turns memory off for the request. ' +
    'Binds 127.0.0.1 by default and answers only requests addressed to it; binding any other address requires ' +
    'the bearer token kept in $MIRADOR_HOME/serve/token. Browsers may call it only from the origins in ' +
    '`serve.origins` of the config. Stops on Ctrl-C. See docs/serve.md.'
  static examples = [
    '<%= config.bin %> serve',
    '<%= config.bin %> serve --port 8080',
    '<%= config.bin %> serve --host 0.0.0.0   # requires the bearer token',
    '<%= config.bin %> serve --json   # prints {"url": …} once listening',
    'curl -H "X-Mirador-Session: garden" -H "content-type: application/json" http://127.0.0.1:11435/v1/chat/completions ' +
      '-d \'{"model": "model/quick", "messages": [{"role": "user", "content": "Tomatoes or peppers?"}]}\'',
  ]
  // --json here is one line, {url}, printed once listening: the command then runs until stopped
  static enableJsonFlag = false
  static flags = {
    json: Flags.boolean({ description: 'Print {"url": …} as one JSON line once listening.' }),
    port: Flags.integer({ description: `Port to listen on (0: any free port).`, default: DEFAULT_PORT, min: 0 }),
    host: Flags.string({ description: 'Address to bind.', default: '127.0.0.1', helpValue: 'ADDRESS' }),
  }

  async run(): Promise<void> {
    const { flags } = await this.parse(Serve)
    if (flags.port > 65535) throw new MiradorError('USAGE', `--port ${flags.port} is not a port: use 0 to 65535`)
    const [{ buildApp }, { isLoopback }, { serveToken }] = await Promise.all([
      import('../server/app.js'),
      import('../server/guard.js'),
      import('../server/token.js'),
    ])
    const s = await setup({ ...(flags.config ? { config: flags.config as string } : {}), thirdParty: true })
    const home = miradorHome()
    let token: string | undefined
    if (!isLoopback(flags.host)) {
      const t = await serveToken(home)
      token = t.token
      if (t.created) this.logToStderr(`Bearer token (shown once, kept in ${t.file}): ${t.token}`)
      else this.logToStderr(`Clients must send the bearer token in ${t.file}`)
    }
    const serve = s.config.serve ?? {}
    // a manifest entry that cannot resolve (a GGUF path from an unset variable) is not offered
    const manifestModels = async (): Promise<string[]> =>
      ((await s.models?.entries().catch(() => [])) ?? []).filter((e) => !e.error).map((e) => e.name)
    const app = buildApp({
      engine: s.engine,
      manifestModels,
      host: flags.host,
      origins: serve.origins ?? [],
      concurrency: serve.concurrency ?? 8,
      timeoutMs: (serve.timeout ?? 600) * 1000,
      ...(token ? { token } : {}),
    })
    try {
      await app.listen({ host: flags.host, port: flags.port })
    } catch (err) {
      await s.engine.dispose().catch(() => {})
      const code = (err as NodeJS.ErrnoException).code
      const why = code === 'EADDRINUSE' ? 'the port is in use: pick another with --port' : String(err)
      throw new MiradorError('USAGE', `cannot listen on ${flags.host}:${flags.port}: ${why}`)
    }
    const address = app.server.address()
    const port = typeof address === 'object' && address ? address.port : flags.port
    const url = `http://${flags.host.includes(':') ? `[${flags.host}]` : flags.host}:${port}/v1`
    if (flags.json) process.stdout.write(JSON.stringify({ url }) + '\n')
    else {
      const models = (await manifestModels()).length
      this.log(`Serving ${(await s.engine.chains()).length} chains and ${models} models at ${url} (Ctrl-C stops)`)
    }
    await new Promise<void>((resolve) => {
      const stop = (): void => {
        process.off('SIGINT', stop)
        process.off('SIGTERM', stop)
        resolve()
      }
      process.on('SIGINT', stop)
      process.on('SIGTERM', stop)
    })
    await app.close()
    await s.engine.dispose().catch(() => {})
  }
}
