/** The test GGUF as the embedded `default` model of a project manifest, served by the hub double. */
import { statSync } from 'node:fs'
import { startHfServer, type HfServerOptions, type HfTestServer } from './hf-server.js'
import { gguf } from './test-gguf.js'

export const REPO = 'test/stories-GGUF'
export const REVISION = '0123456789abcdef0123456789abcdef01234567'
export const FILE = 'stories260K.gguf'
export const SHA256 = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d'

/** A project manifest whose `default` is the test GGUF on the hub double, and Ollama entries that fall back to it. */
export function manifest(opts: { sha256?: string; size?: number } = {}): string {
  return `models:
  quick: { runtime: ollama, base: "llama3.2:1b", fallback: default }
  deep: { runtime: ollama, base: "qwen2.5:7b", fallback: default }
  default:
    runtime: llamacpp
    source:
      hf: { repo: ${REPO}, file: ${FILE}, revision: ${REVISION} }
      size_bytes: ${opts.size ?? statSync(gguf()).size}
    sha256: ${opts.sha256 ?? SHA256}
    threads: 1
    context_size: 256
`
}

export function hfServer(opts: Omit<HfServerOptions, 'files'> = {}): Promise<HfTestServer> {
  return startHfServer({ files: [{ repo: REPO, revision: REVISION, file: FILE, path: gguf() }], ...opts })
}
