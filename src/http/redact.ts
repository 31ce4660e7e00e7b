/** Run-time secrets (tokens) masked at most: far more than the tokens alive at once in one configuration. */
export const REMEMBERED_SECRETS_LIMIT = 100

/** Masks secret values (and their URL/base64 encodings) in any text that leaves the engine. */
export class Redactor {
  private needles: string[]
  private readonly base: string[]
  /** Secrets learnt at run time, oldest first (a long-lived engine sees a new token every hour or so). */
  private readonly learnt: string[] = []

  constructor(secrets: readonly string[]) {
    this.base = Redactor.needlesOf(secrets)
    this.needles = this.base
  }

  private static needlesOf(secrets: readonly string[]): string[] {
    const set = new Set<string>()
    for (const s of secrets) {
      // Very short values would mask ordinary words; settings that short are not real secrets anyway.
      if (!s || s.length < 4) continue
      set.add(s)
      set.add(encodeURIComponent(s))
      set.add(Buffer.from(s).toString('base64'))
    }
    return [...set].sort((a, b) => b.length - a.length)
  }

  /** Masks a secret learned at run time (a token the auth module obtained) from now on. */
  remember(secret: string): void {
    if (!secret || this.learnt.includes(secret) || this.base.includes(secret)) return
    this.learnt.push(secret)
    // Old tokens expired long ago; masking a bounded number of recent ones keeps every call's cost flat.
    if (this.learnt.length > REMEMBERED_SECRETS_LIMIT) this.learnt.shift()
    this.needles = Redactor.needlesOf([...this.base, ...this.learnt])
  }

  with(more: readonly string[]): Redactor {
    return new Redactor([...this.needles, ...more])
  }

  text(value: string): string {
    let out = value
    for (const n of this.needles) out = out.split(n).join('***')
    return out
  }

  /**
   * A request body for logs: besides known secrets, values of fields named like credentials are masked
   * (e.g. a password the mapping derives per user, which no setting holds).
   */
  body(text: string): string {
    return this.text(text).replace(/("(?:[A-Za-z_]*(?:password|secret|token|apikey|api_key)[A-Za-z_]*)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"***"')
  }

  /**
   * Header values that are credentials whatever their content: masked, except that an empty one says so
   * (`Bearer (empty)`), since a missing setting would otherwise look exactly like a good token.
   */
  headers(headers: Record<string, string>): Record<string, string> {
    const out: Record<string, string> = {}
    for (const [k, v] of Object.entries(headers)) {
      out[k] = /^(authorization|proxy-authorization|cookie|x-api-key|api[_-]?key|api_access_token)$/i.test(k) ? (emptyCredential(v) ?? '***') : this.text(v)
    }
    return out
  }
}

/** `(empty)`, `Bearer (empty)`, `Basic (empty)` (no user, no password) for credentials that hold nothing. */
function emptyCredential(value: string): string | undefined {
  const v = value.trim()
  if (v === '') return '(empty)'
  const m = /^(\w+)(?:\s+(.*))?$/.exec(v)
  if (!m || !/^(bearer|token|basic)$/i.test(m[1]!)) return undefined
  const credential = (m[2] ?? '').trim()
  if (credential === '') return `${m[1]} (empty)`
  if (m[1]!.toLowerCase() === 'basic' && Buffer.from(credential, 'base64').toString('utf8') === ':') return `${m[1]} (empty)`
  return undefined
}
