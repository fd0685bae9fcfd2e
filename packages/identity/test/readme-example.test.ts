import { expect, it } from 'vitest'
import { runExample } from './readme-example.ts'

it('the README example registers, binds the wallet and verifies the listing', async () => {
  const summary = await runExample()
  expect(summary.ok).toBe(true)
  expect(summary.uri).toMatch(/^ipfs:\/\/bagaaiera/)
}, 60_000)
