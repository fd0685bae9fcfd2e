import { createCipheriv, createDecipheriv, randomBytes, type ScryptOptions, scrypt as scryptCb } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import type { Hex } from 'viem'
import { privateKeyToAddress } from 'viem/accounts'
import { CliError } from './errors.ts'

/*
 * Why a hand-written keystore: no maintained keystore library (ethers' or web3's Web3 Secret Storage) is in this
 * workspace's dependency set, and adding one for ~60 lines is not worth it; node:crypto has every primitive.
 *
 * Format (`wallet.json`, mode 0600), version 1:
 * {
 *   "version": 1,
 *   "address": "0x…",                      // checksummed; also bound as AES-GCM additional data
 *   "kdf": "scrypt",
 *   "kdfparams": { "n": 32768, "r": 8, "p": 1, "dklen": 32, "salt": "<32 random bytes, hex>" },
 *   "cipher": "aes-256-gcm",
 *   "iv": "<12 random bytes, hex>",
 *   "ciphertext": "<the 32-byte private key, encrypted, hex>",
 *   "tag": "<16-byte GCM tag, hex>"
 * }
 * key = scrypt(utf8(password), salt, n, r, p, dklen); a wrong password or any edit fails the GCM tag check.
 */

/** The on-disk keystore (see the format above). */
export interface Keystore {
  version: 1
  address: `0x${string}`
  kdf: 'scrypt'
  kdfparams: { n: number; r: number; p: number; dklen: number; salt: string }
  cipher: 'aes-256-gcm'
  iv: string
  ciphertext: string
  tag: string
}

const DEFAULT_PARAMS = { n: 2 ** 15, r: 8, p: 1, dklen: 32 }

function deriveKey(password: string, params: Keystore['kdfparams']): Promise<Buffer> {
  const options: ScryptOptions = { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r }
  return new Promise((resolve, reject) => {
    scryptCb(password.normalize('NFKC'), Buffer.from(params.salt, 'hex'), params.dklen, options, (err, key) =>
      err != null ? reject(err) : resolve(key)
    )
  })
}

/** Encrypts `privateKey` with `password` into a {@link Keystore}. */
export async function encryptKeystore(privateKey: Hex, password: string): Promise<Keystore> {
  const address = privateKeyToAddress(privateKey)
  const kdfparams = { ...DEFAULT_PARAMS, salt: randomBytes(32).toString('hex') }
  const key = await deriveKey(password, kdfparams)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(address.toLowerCase(), 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(Buffer.from(privateKey.slice(2), 'hex')), cipher.final()])
  return {
    version: 1,
    address,
    kdf: 'scrypt',
    kdfparams,
    cipher: 'aes-256-gcm',
    iv: iv.toString('hex'),
    ciphertext: ciphertext.toString('hex'),
    tag: cipher.getAuthTag().toString('hex')
  }
}

/** Decrypts a {@link Keystore}; throws a {@link CliError} on a wrong password or a damaged file. */
export async function decryptKeystore(keystore: Keystore, password: string): Promise<Hex> {
  if (keystore.version !== 1 || keystore.kdf !== 'scrypt' || keystore.cipher !== 'aes-256-gcm') {
    throw new CliError('unsupported keystore format (expected version 1, scrypt, aes-256-gcm)')
  }
  const key = await deriveKey(password, keystore.kdfparams)
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(keystore.iv, 'hex'))
  decipher.setAAD(Buffer.from(keystore.address.toLowerCase(), 'utf8'))
  decipher.setAuthTag(Buffer.from(keystore.tag, 'hex'))
  let plain: Buffer
  try {
    plain = Buffer.concat([decipher.update(Buffer.from(keystore.ciphertext, 'hex')), decipher.final()])
  } catch {
    throw new CliError('cannot decrypt the wallet: wrong password or damaged keystore')
  }
  const privateKey = `0x${plain.toString('hex')}` as Hex
  if (privateKeyToAddress(privateKey).toLowerCase() !== keystore.address.toLowerCase()) {
    throw new CliError('the keystore address does not match its key')
  }
  return privateKey
}

/** Reads a keystore file. */
export async function readKeystore(path: string): Promise<Keystore> {
  const text = await readFile(path, 'utf8')
  try {
    return JSON.parse(text) as Keystore
  } catch {
    throw new CliError(`${path} is not a valid keystore (bad JSON)`)
  }
}

/** Writes a keystore file readable by its owner only; fails if it exists. */
export async function writeKeystore(path: string, keystore: Keystore): Promise<void> {
  await writeFile(path, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
}
