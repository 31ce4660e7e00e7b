import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { runFixtures } from '../src/fixtures/runFixtures'
import { OpenApiSpec } from './support/openApiSpec'

/**
 * Every request of every fixture of a shipped mapping (operation steps and webhook lookups) is checked against
 * the vendor's own published API description, where one is published under a licence that lets us keep it
 * (../shared/fixtures/vendor-specs/, see its README). A request the spec does not allow fails the test.
 *
 * A mapping joins with one line here.
 */
const SPECS_DIR = join(__dirname, '..', '..', 'shared', 'fixtures', 'vendor-specs')
const MAPPINGS_DIR = join(__dirname, '..', 'mappings')

type SpecEntry = {
  /** File in ../shared/fixtures/vendor-specs/. */
  spec: string
  /** What the mapping's fixture requests carry before the spec's own paths (a base URL's path), stripped before matching. */
  stripPrefix: string
  /** Formats the spec declares wrongly, each with its reason. */
  ignoreFormats?: string[]
  /** Top-level body fields the vendor takes but the request schema does not list, by `METHOD template`, each with its reason. */
  undeclaredFields?: Record<string, string[]>
}

const SHIPPED_SPECS: Record<string, SpecEntry> = {
  // `from.id` of POST /conversations is declared `format: uuid` with exactly 24 characters, which no UUID has;
  // Intercom's contact ids are 24 hex digits (the spec's own example, 536e564f316c83104c000020, fails it).
  // `timestamp` (snoozed_until) is no JSON Schema format; the field is an integer anyway.
  intercom: { spec: 'intercom-2.16.api.intercom.io.yaml', stripPrefix: '', ignoreFormats: ['uuid', 'timestamp'] },
  // The fixtures' baseUrl has no path: the spec's paths (/api/v1/…, /public/api/v1/…) are sent as they are.
  // `avatar_url`: the schema lists only `avatar` (a file), whose description says "or use the avatar_url".
  chatwoot: { spec: 'chatwoot.swagger.json', stripPrefix: '', undeclaredFields: { 'POST /public/api/v1/inboxes/{inbox_identifier}/contacts': ['avatar_url'] } },
}

const specPath = (entry: SpecEntry) => join(SPECS_DIR, entry.spec)

// Not skipped when the folder is missing: CI has it beside the clone, and a missing spec must fail, not pass.
describe('vendor API specs (../shared/fixtures/vendor-specs)', () => {
  it.each(Object.keys(SHIPPED_SPECS))('%s: the mapping and its spec are both there', (name) => {
    expect(existsSync(join(MAPPINGS_DIR, `${name}.yaml`))).toBe(true)
    expect(existsSync(specPath(SHIPPED_SPECS[name]!))).toBe(true)
  })

  describe.each(Object.entries(SHIPPED_SPECS))('mappings/%s.yaml', (name, entry) => {
    it('sends only requests its vendor spec allows', async () => {
      const spec = new OpenApiSpec(specPath(entry), { ignoreFormats: entry.ignoreFormats, undeclaredFields: entry.undeclaredFields })
      const results = await runFixtures(readFileSync(join(MAPPINGS_DIR, `${name}.yaml`), 'utf8'), `mappings/${name}.yaml`)
      const checked = results.flatMap((r) => r.requests.map((req) => ({ fixture: r.name, req })))
      expect(checked.length).toBeGreaterThan(0)
      const problems = checked.flatMap(({ fixture, req }) => {
        if (!req.path.startsWith(entry.stripPrefix)) return [`${fixture}: ${req.method} ${req.path} does not start with ${entry.stripPrefix}`]
        return spec.check({ ...req, path: req.path.slice(entry.stripPrefix.length) || '/' }).map((p) => `${fixture}: ${p}`)
      })
      expect(problems).toEqual([])
    })
  })

  // Guards the checker itself: requests the specs do not allow are reported, each for its own reason.
  it('reports requests a spec does not allow', () => {
    const spec = new OpenApiSpec(specPath(SHIPPED_SPECS.intercom!), { ignoreFormats: ['uuid'] })
    const json = (body: unknown) => ({ query: {}, headers: { 'content-type': 'application/json' }, body, bodyText: JSON.stringify(body) })
    const none = { query: {}, headers: {}, body: undefined, bodyText: '' }
    expect(
      spec.check({
        method: 'POST',
        path: '/conversations/499/reply',
        ...json({ message_type: 'comment', type: 'user', intercom_user_id: '6762f0dd1bb69f9f2193bb83', body: 'Hi' }),
      }),
    ).toEqual([])
    expect(spec.check({ method: 'POST', path: '/conversations/499/reply', ...json({ message_type: 'comment', body: 'Hi' }) }).join('\n')).toMatch(/body/)
    expect(
      spec
        .check({
          method: 'POST',
          path: '/conversations/499/reply',
          ...json({ message_type: 'comment', type: 'user', intercom_user_id: 'x', body: 'Hi', attachment_urls: ['not a url'] }),
        })
        .join('\n'),
    ).toMatch(/format/)
    expect(spec.check({ method: 'PATCH', path: '/conversations/499', ...json({}) })).toEqual([expect.stringMatching(/no PATCH/)])
    expect(spec.check({ method: 'GET', path: '/no/such/thing', ...none })).toEqual([expect.stringMatching(/no path of the spec matches/)])
    expect(spec.check({ method: 'PUT', path: '/conversations/499', ...json({ title: 'T', priority: 'high' }) }).join('\n')).toMatch(
      /unevaluatedProperty.*priority/,
    )
    const chatwoot = new OpenApiSpec(specPath(SHIPPED_SPECS.chatwoot!))
    expect(chatwoot.check({ method: 'POST', path: '/api/v1/accounts/1/conversations/12/toggle_priority', ...none })).toEqual([
      expect.stringMatching(/requires a request body/),
    ])
    expect(
      chatwoot.check({ method: 'POST', path: '/api/v1/accounts/1/conversations/12/toggle_status', ...json({ status: 'closed-for-good' }) }).join('\n'),
    ).toMatch(/body\/status/)
  })
})
