#!/usr/bin/env node
// Tiny webhook receiver for manual runs: logs every delivery (method, path, headers, raw body)
// as <n>-<event>.json in OUT_DIR and answers 200. Usage: node receiver.mjs PORT OUT_DIR
import http from 'node:http'
import fs from 'node:fs'
import path from 'node:path'

const [port, outDir] = [Number(process.argv[2] ?? 9911), process.argv[3] ?? './deliveries']
fs.mkdirSync(outDir, { recursive: true })
let n = 0
http
  .createServer((req, res) => {
    const chunks = []
    req.on('data', (c) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8')
      let event = 'unknown'
      try {
        event = JSON.parse(body).event ?? event
      } catch {}
      n += 1
      const file = path.join(outDir, `${n}-${event}.json`)
      fs.writeFileSync(file, `${JSON.stringify({ method: req.method, path: req.url, headers: req.headers, body }, null, 2)}\n`)
      process.stdout.write(`${file}\n`)
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  .listen(port, '127.0.0.1', () => process.stdout.write(`listening on 127.0.0.1:${port}\n`))
