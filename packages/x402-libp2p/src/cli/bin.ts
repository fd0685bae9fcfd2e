#!/usr/bin/env node
import './polyfill.ts'
import { main } from './main.ts'

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  () => process.exit(1)
)
