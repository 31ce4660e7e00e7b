import * as sdk from '@botpress/sdk'
import type { StoredToken, TokenStore } from '../auth/tokenStore'
import type { Client } from './types'

/**
 * Tokens kept in the integration state `tokens`: at most this many (per-end-user tokens must not grow the state
 * without bound); the entries that expire soonest go first.
 */
export const STATE_TOKEN_LIMIT = 200

type Tokens = Record<string, StoredToken>

/**
 * The token store of the Botpress glue: one integration state shared by every worker, so a vendor that limits
 * how many tokens may be minted (Zoho: 10 per 10 minutes) sees one token per lifetime, not one per worker.
 * Two workers missing the token at the same moment may both mint one; the last write wins (both tokens work).
 */
export class IntegrationStateTokenStore implements TokenStore {
  /** The state as last read or written by this store: one engine serves one handler call, one read suffices. */
  private known?: Promise<Tokens>

  constructor(
    private readonly client: Client,
    private readonly integrationId: string,
    private readonly now: () => number = Date.now,
  ) {}

  private read(): Promise<Tokens> {
    this.known ??= this.fetch().catch((e) => {
      this.known = undefined // a failed read is not remembered
      throw e
    })
    return this.known.then((t) => ({ ...t }))
  }

  private async fetch(): Promise<Tokens> {
    try {
      const { state } = await this.client.getState({ type: 'integration', id: this.integrationId, name: 'tokens' })
      return state.payload?.tokens ?? {}
    } catch (e) {
      if (sdk.isApiError(e) && e.type === 'ResourceNotFound') return {}
      throw e
    }
  }

  private async write(tokens: Tokens): Promise<void> {
    const now = this.now()
    const live = Object.entries(tokens).filter(([, t]) => t.expiresAt === undefined || t.expiresAt > now)
    live.sort(([, a], [, b]) => (b.expiresAt ?? Infinity) - (a.expiresAt ?? Infinity))
    const kept = Object.fromEntries(live.slice(0, STATE_TOKEN_LIMIT))
    this.known = Promise.resolve(kept)
    await this.client.setState({ type: 'integration', id: this.integrationId, name: 'tokens', payload: { tokens: kept } })
  }

  async get(key: string): Promise<StoredToken | undefined> {
    const token = (await this.read())[key]
    return token && (token.expiresAt === undefined || token.expiresAt > this.now()) ? token : undefined
  }

  async set(key: string, token: StoredToken): Promise<void> {
    await this.write({ ...(await this.read()), [key]: token })
  }

  async delete(key: string): Promise<void> {
    const tokens = await this.read()
    if (!(key in tokens)) return
    delete tokens[key]
    await this.write(tokens)
  }
}
