// `universal-hitl dry-run` of a mapping with token auth: the token request is printed like any request, with
// the client secret and refresh token masked, and the token never printed.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = join(__dirname, '..', '..')

describe('dry-run with token auth', () => {
  it('prints the token request and the calls, secrets and token masked', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'dist', 'cli.cjs'), 'dry-run', join(root, 'test', 'support', 'format-1.1', 'zoho-style.yaml'), 'createTicket'],
      { encoding: 'utf8' },
    )
    expect(r.status, r.stderr).toBe(0)
    const out = r.stdout.split('\n')
    expect(out).toContain('http.auth token request: POST https://accounts.zoho.com/oauth/v2/token → 200')
    expect(out).toContain('  grant_type=refresh_token&refresh_token=***&client_id=app-1&client_secret=***')
    expect(out.filter((l) => l.startsWith('  authorization:'))).toEqual(['  authorization: ***', '  authorization: ***'])
    for (const secret of ['fixture-access-1', 'fixture-refresh-token', 'fixture-refresh-rotated', 'fixture-client-secret'])
      expect(r.stdout + r.stderr).not.toContain(secret)
  })
})
