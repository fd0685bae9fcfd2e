import type { AbortOptions } from '@libp2p/interface'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { type Datastore, Key } from 'interface-datastore'

const KEY = new Key('/betar/node/listen')
const WILDCARD_HOSTS = new Set(['0.0.0.0', '::'])

/**
 * Listen addresses that survive a restart. A configured address with port 0 (`/ip4/127.0.0.1/tcp/0`) gets whatever
 * port the OS gives; a node that listened on a new port after every restart would leave its listings, DHT records and
 * ERC-8004 file pointing at a dead address. So the port bound the first time is remembered in the datastore (per
 * configured address) and asked for again at the next start. An explicit port is used as configured.
 */
export async function rememberedListen(
  datastore: Datastore,
  listen: readonly string[],
  options: AbortOptions = {}
): Promise<string[]> {
  const remembered = await read(datastore, options)
  return listen.map((address) => remembered[address] ?? address)
}

/** Records, for each configured port-0 address, the address it was bound to (from the node's listen addresses). */
export async function rememberListen(
  datastore: Datastore,
  listen: readonly string[],
  bound: readonly Multiaddr[],
  options: AbortOptions = {}
): Promise<void> {
  const remembered = await read(datastore, options)
  let changed = false
  for (const address of listen) {
    const found = boundFor(address, bound)
    if (found != null && remembered[address] !== found) {
      remembered[address] = found
      changed = true
    }
  }
  if (changed) await datastore.put(KEY, new TextEncoder().encode(JSON.stringify(remembered)), options)
}

/** Forgets the remembered ports (their next bind failed: the port is taken by someone else now). */
export async function forgetListen(datastore: Datastore, options: AbortOptions = {}): Promise<void> {
  await datastore.delete(KEY, options)
}

/** The configured port-0 `address` with the port it was bound to, or `undefined`. */
function boundFor(address: string, bound: readonly Multiaddr[]): string | undefined {
  let configured: ReturnType<Multiaddr['getComponents']>
  try {
    configured = multiaddr(address).getComponents()
  } catch {
    return undefined
  }
  const portAt = configured.findIndex((c) => (c.name === 'tcp' || c.name === 'udp') && c.value === '0')
  if (portAt < 0 || portAt === 0) return undefined
  const host = configured[0]
  for (const candidate of bound) {
    const parts = candidate.getComponents().filter((c) => c.name !== 'p2p')
    if (parts.length !== configured.length) continue
    const same = parts.every((c, i) => {
      const want = configured[i]
      if (want == null || c.name !== want.name) return false
      if (i === portAt) return true
      if (i === 0 && host?.value != null && WILDCARD_HOSTS.has(host.value)) return true
      return c.value === want.value
    })
    const port = parts[portAt]?.value
    if (same && port != null && port !== '0') {
      return multiaddr(
        `/${configured.map((c, i) => (c.value == null ? c.name : `${c.name}/${i === portAt ? port : c.value}`)).join('/')}`
      ).toString()
    }
  }
  return undefined
}

async function read(datastore: Datastore, options: AbortOptions): Promise<Record<string, string>> {
  if (!(await datastore.has(KEY, options))) return {}
  try {
    const value = JSON.parse(new TextDecoder().decode(await datastore.get(KEY, options))) as unknown
    if (value == null || typeof value !== 'object') return {}
    return Object.fromEntries(Object.entries(value).filter((e): e is [string, string] => typeof e[1] === 'string'))
  } catch {
    return {}
  }
}
