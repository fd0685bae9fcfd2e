#!/usr/bin/env node
// Node 20's Promise.withResolvers shim, which libp2p needs, is installed by @betar/node (and every other @betar package
// that runs libp2p) when a command imports it.
import { main } from './main.ts'

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(1)
)
