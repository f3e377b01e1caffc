// aedes on 127.0.0.1:PORT for limpet's integration tests (tests/support/mod.rs).
//
//   node broker.mjs PORT [--tls CERT KEY [CA]]
//
// With --tls the listener is TLS (Node's TLS: 1.2 and 1.3) with the server
// certificate CERT and its key KEY (PEM files; limpet's TLS tests make them
// with openssl at test time). With CA too, a client certificate issued by
// CA is required (mutual TLS).
//
// In-memory persistence (aedes' default): persistent sessions, their
// subscriptions and queued QoS 1/2 messages, and retained messages live as
// long as this process. Prints "aedes VERSION ready on 127.0.0.1:PORT" once
// listening; exits 0 on SIGTERM/SIGINT, 3 if the port is taken.
import net from 'node:net'
import tls from 'node:tls'
import { readFileSync } from 'node:fs'
import { Aedes } from 'aedes'

const port = Number(process.argv[2])
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error('usage: node broker.mjs PORT [--tls CERT KEY [CA]]')
  process.exit(2)
}
const secure = process.argv[3] === '--tls'
  ? { cert: readFileSync(process.argv[4]), key: readFileSync(process.argv[5]) }
  : null
if (secure && process.argv[6]) {
  secure.ca = readFileSync(process.argv[6])
  secure.requestCert = true
  secure.rejectUnauthorized = true
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

const server = secure ? tls.createServer(secure, aedes.handle) : net.createServer(aedes.handle)
server.on('tlsClientError', (e) => log('tls client error', e.message))
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
