import { describe, expect, it } from 'vitest'
import {
  AgentFileUnavailableError,
  buildRegistrationFile,
  type FetchLike,
  fetchAgentFile,
  InvalidRegistrationFileError,
  MAX_REGISTRATION_FILE_BYTES,
  RegistrationFileTooLargeError,
  registrationFileDataUri,
  UnsupportedAgentUriError
} from '../src/index.ts'

const PEER = '12D3KooWBAdUmn8JKUy7ogZntEDnJC4FujdWgByHQiMf2PTqe5Eo'
const file = buildRegistrationFile({ name: 'a', description: 'b', peerId: PEER, multiaddrs: [], x402Support: true })
const base64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64')

describe('fetchAgentFile', () => {
  it('reads base64 and percent-encoded data: URIs', async () => {
    expect(await fetchAgentFile(registrationFileDataUri(file))).toEqual(file)
    expect(await fetchAgentFile(`data:application/json;charset=utf-8;base64,${base64(file)}`)).toEqual(file)
    expect(await fetchAgentFile(`data:application/json,${encodeURIComponent(JSON.stringify(file))}`)).toEqual(file)
  })

  it('accepts a legacy `endpoints` file from a data: URI', async () => {
    const { services, ...rest } = file
    const parsed = await fetchAgentFile(`data:application/json;base64,${base64({ ...rest, endpoints: services })}`)
    expect(parsed.services).toEqual(services)
  })

  it('rejects invalid, oversized and non-JSON data: URIs', async () => {
    await expect(fetchAgentFile(`data:application/json;base64,${base64({ ...file, type: 'x' })}`)).rejects.toThrow(
      InvalidRegistrationFileError
    )
    await expect(
      fetchAgentFile(
        `data:application/json;base64,${base64({ ...file, pad: 'x'.repeat(MAX_REGISTRATION_FILE_BYTES) })}`
      )
    ).rejects.toThrow(RegistrationFileTooLargeError)
    await expect(fetchAgentFile('data:application/json;base64,!!!')).rejects.toThrow(InvalidRegistrationFileError)
    await expect(fetchAgentFile(`data:text/html;base64,${base64(file)}`)).rejects.toThrow(UnsupportedAgentUriError)
  })

  it('needs helia for ipfs:// and fetch for https://, and rejects other schemes', async () => {
    await expect(fetchAgentFile('ipfs://bagaaieraaaaa')).rejects.toThrow(UnsupportedAgentUriError)
    await expect(fetchAgentFile('https://agent.example/agent.json')).rejects.toThrow(UnsupportedAgentUriError)
    await expect(fetchAgentFile('http://agent.example/agent.json')).rejects.toThrow(UnsupportedAgentUriError)
    await expect(fetchAgentFile('')).rejects.toThrow(AgentFileUnavailableError)
  })

  it('fetches https:// only through the given fetch, size-bounded', async () => {
    const urls: string[] = []
    const serve =
      (body: string, status = 200): FetchLike =>
      async (url) => {
        urls.push(url)
        return new Response(body, { status })
      }
    expect(await fetchAgentFile('https://agent.example/a.json', { fetch: serve(JSON.stringify(file)) })).toEqual(file)
    expect(urls).toEqual(['https://agent.example/a.json'])
    await expect(fetchAgentFile('https://agent.example/a.json', { fetch: serve('{}', 404) })).rejects.toThrow(
      AgentFileUnavailableError
    )
    const huge = JSON.stringify({ ...file, pad: 'x'.repeat(MAX_REGISTRATION_FILE_BYTES) })
    await expect(fetchAgentFile('https://agent.example/a.json', { fetch: serve(huge) })).rejects.toThrow(
      RegistrationFileTooLargeError
    )
    const failing: FetchLike = async () => {
      throw new TypeError('fetch failed')
    }
    await expect(fetchAgentFile('https://agent.example/a.json', { fetch: failing })).rejects.toThrow(
      AgentFileUnavailableError
    )
  })

  it('honours the caller signal', async () => {
    const hang: FetchLike = (_url, init) =>
      new Promise((_, reject) => init.signal.addEventListener('abort', () => reject(init.signal.reason)))
    const controller = new AbortController()
    const pending = fetchAgentFile('https://agent.example/a.json', { fetch: hang, signal: controller.signal })
    controller.abort(new Error('stop'))
    await expect(pending).rejects.toThrow('stop')
    await expect(fetchAgentFile('https://agent.example/a.json', { fetch: hang, timeoutMs: 50 })).rejects.toThrow(
      AgentFileUnavailableError
    )
  })
})
