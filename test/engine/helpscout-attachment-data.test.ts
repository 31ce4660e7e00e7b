// The Help Scout mapping as shipped, its agent's file read from the attachment's data endpoint: the mapping's
// own fixture delivery routed, the attachment it gives downloaded from a loopback stub playing Help Scout
// (the token request, then GET …/attachments/{id}/data answering {"data": "<base64>"} only with the token), and
// the decoded bytes checked. The stub's answers follow the SDK (AttachmentPayloads.php) and the mapping's docs.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createEngine } from '../../src/engine/createEngine'
import { fixtureDelivery } from '../../src/fixtures/runFixtures'
import { rewriteToStub, startStubHelpdesk, type StubHelpdesk } from '../../src/fixtures/stubHelpdesk'
import { compileMappingText } from '../../src/mapping/loadMapping'
import { parseSettings } from '../../src/mapping/parseSettings'

const file = 'mappings/helpscout.yaml'
const mapping = compileMappingText(readFileSync(join(__dirname, '..', '..', file), 'utf8'), file)
const fx = mapping.file.fixtures!
// A JPEG's first bytes and every other byte value: what the end user must get, byte for byte.
const PHOTO = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256))])
const TOKEN = 'hs-access-token-1'

let stub: StubHelpdesk
beforeAll(async () => {
  stub = await startStubHelpdesk()
})
afterAll(async () => stub?.close())

const engine = () => {
  const settings = parseSettings(fx.settings ?? {}, mapping.file.settings ?? {}, 'settings')
  return { engine: createEngine({ mapping, settings, hash: 'test' }, { registration: fx.registration, rewriteUrl: rewriteToStub(stub.url) }), settings }
}
/** The mapping's own fixture of an agent reply with a file, routed: the attachment it gives. */
async function attachmentOfFixture() {
  const { engine: e, settings } = engine()
  const f = fx.webhooks!.find((w) => w.name === "an agent's reply with a file becomes newMessage with the file re-hosted")!
  const delivery = await fixtureDelivery(
    mapping,
    { settings: settings.values, registration: fx.registration ?? {}, webhookUrl: 'https://webhook.botpress.cloud/x' },
    f,
  )
  const outcome = await e.routeWebhook(delivery)
  if (outcome.kind !== 'events') throw new Error(`not routed: ${JSON.stringify(outcome)}`)
  return { engine: e, attachment: outcome.events[0]!.attachments![0]! }
}

describe("Help Scout: the agent's file from the attachment data endpoint (rehost: {base64: data})", () => {
  it('is downloaded with the token and decoded to the exact bytes, typed by its mimeType', async () => {
    stub.reset()
    stub.route({ method: 'POST', path: '/v2/oauth2/token', respond: () => ({ body: { token_type: 'bearer', access_token: TOKEN, expires_in: 172800 } }) })
    stub.route({
      method: 'GET',
      path: '/v2/conversations/123/attachments/92/data',
      respond: (r) =>
        r.headers.authorization === `Bearer ${TOKEN}` ? { body: { data: PHOTO.toString('base64') } } : { status: 401, body: { error: 'unauthorized' } },
    })
    const { engine: e, attachment } = await attachmentOfFixture()
    expect(attachment).toMatchObject({ url: 'https://api.helpscout.net/v2/conversations/123/attachments/92/data', rehost: { base64: 'data' } })
    const content = await e.downloadAgentFile({ url: attachment.url, name: attachment.name!, contentType: attachment.contentType }, attachment.rehost)
    expect(content).toMatchObject({ name: 'parcel-photo.jpg', contentType: 'image/jpeg', size: PHOTO.length })
    expect(content.bytes.equals(PHOTO)).toBe(true)
    expect(stub.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['POST /v2/oauth2/token', 'GET /v2/conversations/123/attachments/92/data'])
    expect(stub.requests[1]!.headers.accept).toBe('application/json')
  })

  it('an answer without the data field is not taken for the file', async () => {
    stub.reset()
    stub.route({ method: 'POST', path: '/v2/oauth2/token', respond: () => ({ body: { token_type: 'bearer', access_token: TOKEN, expires_in: 172800 } }) })
    stub.route({ method: 'GET', path: '/v2/conversations/123/attachments/92/data', respond: () => ({ body: { message: 'moved' } }) })
    const { engine: e, attachment } = await attachmentOfFixture()
    await expect(e.downloadAgentFile({ url: attachment.url, name: attachment.name! }, attachment.rehost)).rejects.toThrow(
      `parcel-photo.jpg: the helpdesk's JSON answer has no text at "data" (the file's base64)`,
    )
  })
})
