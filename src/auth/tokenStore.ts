/** An access token the auth module obtained, kept until shortly before it expires. */
export type StoredToken = {
  value: string
  /** Epoch milliseconds after which the token must not be used; absent = until replaced. */
  expiresAt?: number
}

/**
 * Where tokens live between requests. The Botpress glue backs it with integration state (so every worker shares
 * one token and a vendor's minting limit holds); the CLI, tests and the sandbox use MemoryTokenStore.
 * `get` never returns an expired token.
 */
export interface TokenStore {
  get(key: string): Promise<StoredToken | undefined>
  set(key: string, token: StoredToken): Promise<void>
  /** Drops a token the vendor refused (401), so the next request obtains a new one. */
  delete(key: string): Promise<void>
}

/** Tokens kept per process at most; per-end-user tokens in a long sandbox run must not grow without bound. */
export const MEMORY_TOKEN_LIMIT = 1000

export class MemoryTokenStore implements TokenStore {
  private readonly tokens = new Map<string, StoredToken>()

  constructor(private readonly now: () => number = Date.now) {}

  async get(key: string): Promise<StoredToken | undefined> {
    const token = this.tokens.get(key)
    if (token?.expiresAt !== undefined && token.expiresAt <= this.now()) {
      this.tokens.delete(key)
      return undefined
    }
    return token
  }

  async set(key: string, token: StoredToken): Promise<void> {
    this.tokens.delete(key) // re-inserted last: the Map's order is then oldest-written first
    this.tokens.set(key, token)
    if (this.tokens.size > MEMORY_TOKEN_LIMIT) this.tokens.delete(this.tokens.keys().next().value!)
  }

  async delete(key: string): Promise<void> {
    this.tokens.delete(key)
  }
}
