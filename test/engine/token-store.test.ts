// The token store is the seam token auth caches through (memory here; integration state in the Botpress glue).
import { describe, expect, it } from 'vitest'
import { MEMORY_TOKEN_LIMIT, MemoryTokenStore } from '../../src/auth/tokenStore'

describe('MemoryTokenStore', () => {
  it('returns a token until it expires, then nothing', async () => {
    let now = 1_000
    const store = new MemoryTokenStore(() => now)
    await store.set('vendor', { value: 't1', expiresAt: 2_000 })
    expect(await store.get('vendor')).toEqual({ value: 't1', expiresAt: 2_000 })
    now = 2_000
    expect(await store.get('vendor')).toBeUndefined()
  })

  it('keeps a token without expiry until it is replaced', async () => {
    const store = new MemoryTokenStore(() => Number.MAX_SAFE_INTEGER)
    await store.set('k', { value: 'a' })
    expect((await store.get('k'))?.value).toBe('a')
    await store.set('k', { value: 'b' })
    expect((await store.get('k'))?.value).toBe('b')
    expect(await store.get('other')).toBeUndefined()
  })

  it(`holds at most ${MEMORY_TOKEN_LIMIT} tokens, forgetting the oldest written first`, async () => {
    const store = new MemoryTokenStore()
    for (let i = 0; i <= MEMORY_TOKEN_LIMIT; i++) await store.set(`user-${i}`, { value: `t${i}` })
    expect(await store.get('user-0')).toBeUndefined()
    expect((await store.get('user-1'))?.value).toBe('t1')
    expect((await store.get(`user-${MEMORY_TOKEN_LIMIT}`))?.value).toBe(`t${MEMORY_TOKEN_LIMIT}`)
  })
})
