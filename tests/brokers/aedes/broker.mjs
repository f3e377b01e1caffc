// aedes on 127.0.0.1:PORT for limpet's integration tests (tests/support/mod.rs).
//
//   node broker.mjs PORT
//
// In-memory persistence (aedes' default): persistent sessions, their
// subscriptions and queued QoS 1/2 messages, and retained messages live as
// long as this process. Prints "aedes VERSION ready on 127.0.0.1:PORT" once
// listening; exits 0 on SIGTERM/SIGINT, 3 if the port is taken.
import net from 'node:net'
import { readFileSync } from 'node:fs'
import { Aedes } from 'aedes'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node broker.mjs PORT')
  process.exit(2)
}
const pkg = new URL('node_modules/aedes/package.json', import.meta.url)
const { version } = JSON.parse(readFileSync(pkg, 'utf8'))

const aedes = await Aedes.createBroker()
const log = (...a) => console.log(new Date().toISOString(), ...a)
aedes.on('client', (c) => log('client connected', c.id))
aedes.on('clientDisconnect', (c) => log('client disconnected', c.id))
aedes.on('clientError', (c, e) => log('client error', c.id, e.message))
aedes.on('connectionError', (c, e) => log('connection error', c?.id, e.message))
aedes.on('keepaliveTimeout', (c) => log('keepalive timeout', c.id))

const server = net.createServer(aedes.handle)
server.on('error', (e) => {
  console.error(`aedes: cannot listen on 127.0.0.1:${port}: ${e.code} ${e.message}`)
  process.exit(e.code === 'EADDRINUSE' ? 3 : 1)
})
server.listen(port, '127.0.0.1', () => log(`aedes ${version} ready on 127.0.0.1:${port}`))

function stop () {
  setTimeout(() => process.exit(0), 2000).unref() // bounded: never hang on close
  server.close()
  aedes.close(() => process.exit(0))
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
