/**
 * What `federation contribute`, `pull`, `aggregate` and `verify` share: this home's membership, its
 * group's exchange (progress of slow steps, a git sync or a retried push, on stderr, one line each)
 * and the round context of the library; and how a round's state reads in a terminal.
 */
import { miradorHome } from '../paths.js'
import { createExchange, type Exchange } from '../../plugins/federation/exchange/index.js'
import { loadMembership, type Membership } from '../../plugins/federation/membership.js'
import type { RoundContext, Step, Waiting } from '../../plugins/federation/round/index.js'

export interface RoundSession {
  membership: Membership
  ctx: RoundContext
  close(): Promise<void>
}

const truthy = (v: string | undefined) => /^(1|true|yes|on)$/i.test(v ?? '')

/** The exchange, saying on stderr before each sync that may take a while (git) and each retried push. */
function withProgress(x: Exchange, slow: boolean, say: (line: string) => void): Exchange {
  return {
    name: x.name,
    list: (d) => x.list(d),
    get: (p) => x.get(p),
    put: (p, b) => x.put(p, b),
    sync: async () => {
      if (slow) say(`Syncing with ${x.name}…`)
      await x.sync()
    },
    close: () => x.close(),
  }
}

export async function openRoundSession(say: (line: string) => void, exchangeUrl?: string): Promise<RoundSession> {
  const home = miradorHome()
  const membership = await loadMembership(home)
  const url = exchangeUrl ?? membership.exchange
  const raw = createExchange(url, {
    home,
    member: membership.member,
    offline: truthy(process.env.MIRADOR_OFFLINE),
    onProgress: (e) => {
      if (e.kind === 'retry') say(`Another member pushed first: fetching and pushing again (attempt ${e.attempt})…`)
    },
  })
  const exchange = withProgress(raw, url.startsWith('git+'), say)
  const ctx: RoundContext = {
    home,
    group: membership.group,
    member: membership.member,
    keys: membership.keys,
    exchange,
  }
  return { membership, ctx, close: () => raw.close() }
}

const STEP_TEXT: Record<Step['step'], string> = {
  commit: 'posted your commit again',
  'closed-commits': 'closed the commit phase',
  bundle: 'posted your masked bundle',
  'closed-mask': 'closed the mask phase',
  reveal: 'revealed your shares',
  result: 'opened the sum (result.json)',
  failed: 'found too few members: the round failed (failed.json)',
}

export function stepLine(s: Step): string {
  const text = STEP_TEXT[s.step]
  return `round ${s.round}: ${s.wrote ? text : `${text.replace(/^(closed|opened)/, 'another member $1')}`}`
}

const PHASE_TEXT = { commit: 'commit', mask: 'bundle', reveal: 'reveal' } as const

/** One line: what a round waits for, and when it can go on without the missing members. */
export function waitingLine(w: Waiting): string {
  if (w.phase === 'done') return `round ${w.round}: opened, ${w.have} contributions summed`
  if (w.phase === 'failed') return `round ${w.round}: failed`
  const missing = w.missing.length ? `; waiting for ${w.missing.join(', ')}` : ''
  const until =
    w.phase === 'reveal'
      ? ` (it fails if it has not opened by ${w.until})`
      : ` (anyone may close the phase after ${w.until}, or now: mirador federation aggregate ${w.round} --now)`
  const have = `${w.have} ${PHASE_TEXT[w.phase]}${w.have === 1 ? '' : 's'}`
  return `round ${w.round}: ${w.phase} phase, ${have} of the ${w.need} it needs${missing}${until}`
}
