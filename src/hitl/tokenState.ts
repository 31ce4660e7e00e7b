import type { StoredToken, TokenStore } from '../auth/tokenStore'
import { readState } from './states'
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
 * A worker keeps what it last read: a token still valid there is used without a Botpress call; a miss reads the
 * state again (another worker may have minted it) before a token is minted. Two workers missing at the same
 * moment may both mint one; the last write wins (both tokens work).
 */
export class IntegrationStateTokenStore implements TokenStore {
  private known: Tokens = {}

  constructor(
    private client: Client,
    private readonly integrationId: string,
    private readonly now: () => number = Date.now,
  ) {}

  /** The client of the handler call now running (engines outlive one call). */
  bind(client: Client): void {
    this.client = client
  }

  private valid(token: StoredToken | undefined): StoredToken | undefined {
    return token && (token.expiresAt === undefined || token.expiresAt > this.now()) ? token : undefined
  }

  private async read(): Promise<Tokens> {
    this.known = (await readState(this.client, 'integration', this.integrationId, 'tokens'))?.tokens ?? {}
    return { ...this.known }
  }

  private async write(tokens: Tokens): Promise<void> {
    const live = Object.entries(tokens).filter(([, t]) => this.valid(t))
    live.sort(([, a], [, b]) => (b.expiresAt ?? Infinity) - (a.expiresAt ?? Infinity))
    const kept = Object.fromEntries(live.slice(0, STATE_TOKEN_LIMIT))
    await this.client.setState({ type: 'integration', id: this.integrationId, name: 'tokens', payload: { tokens: kept } })
    this.known = kept
  }

  async get(key: string): Promise<StoredToken | undefined> {
    return this.valid(this.known[key]) ?? this.valid((await this.read())[key])
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
