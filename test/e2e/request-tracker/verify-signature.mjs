#!/usr/bin/env node
// Re-verifies captured deliveries: node verify-signature.mjs SECRET file.json...
// signature = "sha256=" + hex(HMAC-SHA256(secret, `${x-rt-timestamp}.${raw body}`))
import crypto from 'node:crypto'
import fs from 'node:fs'

const [secret, ...files] = process.argv.slice(2)
let bad = 0
for (const file of files) {
  const { headers, body } = JSON.parse(fs.readFileSync(file, 'utf8'))
  const expected = `sha256=${crypto.createHmac('sha256', secret).update(`${headers['x-rt-timestamp']}.${body}`, 'utf8').digest('hex')}`
  const got = headers['x-rt-signature'] ?? ''
  const ok = got.length === expected.length && crypto.timingSafeEqual(Buffer.from(got), Buffer.from(expected))
  if (!ok) bad += 1
  console.log(`${ok ? 'ok ' : 'BAD'} ${file} delivery=${headers['x-rt-delivery']} event=${headers['x-rt-event']}`)
}
process.exit(bad ? 1 : 0)
