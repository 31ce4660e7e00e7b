// The four cases format 1.0 could not express (issue 9), each as a small mapping under
// test/support/format-1.1/ whose own fixtures pass: Zoho-style token minting limits and JWT, Freshchat-style
// RSA, Trengo-style `ts;hash`, Stripe-style `t=…,v1=…` with fixtures.now, plus Standard Webhooks and a per-user
// token request. Each fixture set also fails when what it tests is taken away.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runFixtures } from '../src/fixtures/runFixtures'

const DIR = join(__dirname, 'support', 'format-1.1')
const read = (name: string) => readFileSync(join(DIR, name), 'utf8')
const failures = (results: Awaited<ReturnType<typeof runFixtures>>) => results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.problems.join('; ')}`)

describe.each(['zoho-style.yaml', 'freshchat-style.yaml', 'trengo-style.yaml', 'stripe-style.yaml', 'standard-webhooks.yaml'])('%s', (file) => {
  it('its fixtures pass', async () => {
    const results = await runFixtures(read(file), file)
    expect(results.length).toBeGreaterThan(0)
    expect(failures(results)).toEqual([])
  })
})

describe('the fixtures can fail', () => {
  it('without fixtures.now the captured Stripe-style delivery is outside the replay window', async () => {
    const results = await runFixtures(read('stripe-style.yaml').replace(/^ {2}now: .*\n/m, ''), 'stripe-style.yaml')
    expect(failures(results)).toEqual([
      expect.stringMatching(/^a captured delivery with two v1 candidates verifies 4 minutes later: .*timestamp outside the 300 s window/),
    ])
  })

  it('a fixture clock 10 minutes later refuses the captured Trengo-style delivery', async () => {
    const results = await runFixtures(read('trengo-style.yaml').replace('now: "2026-03-01T12:00:10Z"', 'now: "2026-03-01T12:10:10Z"'), 'trengo-style.yaml')
    expect(failures(results)).toEqual([expect.stringMatching(/^a captured delivery verifies at fixtures.now: .*timestamp outside/)])
  })

  it('a second token request would show in the expected requests', async () => {
    // expires_in 30 s: the margin makes the token stale at once, so the second call of createTicket mints again
    const results = await runFixtures(
      read('zoho-style.yaml').replace('refresh_token: fixture-refresh-rotated, expires_in: 3600', 'refresh_token: fixture-refresh-rotated, expires_in: 0'),
      'zoho-style.yaml',
    )
    expect(failures(results)).toEqual([
      expect.stringMatching(
        /^createTicket makes two calls with one token request: .*request 3: path \/oauth\/v2\/token, expected \/api\/v1\/tickets\/9\/comments/,
      ),
    ])
  })

  it('an RSA fixture signed with another key is refused', async () => {
    const text = read('freshchat-style.yaml')
    const other = (await import('node:crypto'))
      .generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ format: 'pem', type: 'pkcs8' }) as string
    const swapped = text.replace(
      /(keys:\n {4}privateKey: \|\n)((?: {6}.*\n)+)/,
      (_m, head) =>
        head +
        other
          .trim()
          .split('\n')
          .map((l) => `      ${l}\n`)
          .join(''),
    )
    expect(swapped).not.toBe(text)
    const results = await runFixtures(swapped, 'freshchat-style.yaml')
    expect(failures(results)).toEqual([expect.stringMatching(/^an RSA-signed resolution: expected events, got rejected \(signature does not match\)/)])
  })
})
