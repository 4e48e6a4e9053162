// Cross-check of crypto/jws + crypto/jwt against an independent JOSE implementation: the npm
// `jose` package (v5, see package.json beside this file), plus Node's own crypto module for the
// libtrust key id. Run by crypto/jose_node_test.cc:
//
//   node jose_crosscheck.mjs <folder holding node_modules/jose> <input.json>
//
// The input names the work; the output (stdout, one JSON object) gives each result by name:
//   verify:      [{name, token, alg, jwk | spki_pem | jwks, now, issuer, audience}]
//                -> verify[name] = {ok: true, header, payload} | {ok: false, error}
//   sign:        [{name, alg, pkcs8_pem, kid, claims}]  -> sign[name] = compact token
//   thumbprints: [{name, jwk}]                          -> thumbprints[name] (RFC 7638)
//   libtrust:    [{name, jwk}]                          -> libtrust[name] (Docker key id)
// Any other failure prints the error on stderr and exits non-zero.
import { createHash, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const [joseDir, inputPath] = process.argv.slice(2);
if (!joseDir || !inputPath) {
  console.error('usage: node jose_crosscheck.mjs <dir with node_modules/jose> <input.json>');
  process.exit(2);
}
// Resolve `jose` from the given folder (not from this script's location, which under Bazel is
// a runfiles symlink).
const jose = createRequire(join(joseDir, 'package.json'))('jose');
const input = JSON.parse(readFileSync(inputPath, 'utf8'));

// Docker libtrust key id, written here from its description, independently of the C++ code:
// SHA-256 of the DER SubjectPublicKeyInfo, first 30 bytes, base32 (RFC 4648) without padding,
// groups of 4 joined by ':'.
function base32(bytes) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31];
  return out;
}
function libtrustKeyId(jwk) {
  const der = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'der' });
  const digest = createHash('sha256').update(der).digest().subarray(0, 30);
  return base32(digest).match(/.{4}/g).join(':');
}

async function verifyOne(c) {
  const options = { algorithms: [c.alg], currentDate: new Date(c.now * 1000) };
  if (c.issuer) options.issuer = c.issuer;
  if (c.audience) options.audience = c.audience;
  let key;
  if (c.jwk) key = await jose.importJWK(c.jwk, c.alg);
  else if (c.spki_pem) key = await jose.importSPKI(c.spki_pem, c.alg);
  else if (c.jwks) key = jose.createLocalJWKSet(c.jwks);
  else throw new Error(`verify ${c.name}: no key`);
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(c.token, key, options);
    return { ok: true, header: protectedHeader, payload };
  } catch (e) {
    return { ok: false, error: `${e.code || e.name}: ${e.message}` };
  }
}

async function signOne(c) {
  const key = await jose.importPKCS8(c.pkcs8_pem, c.alg);
  const header = { alg: c.alg, typ: 'JWT' };
  if (c.kid) header.kid = c.kid;
  return new jose.SignJWT(c.claims).setProtectedHeader(header).sign(key);
}

const out = { verify: {}, sign: {}, thumbprints: {}, libtrust: {} };
for (const c of input.verify || []) out.verify[c.name] = await verifyOne(c);
for (const c of input.sign || []) out.sign[c.name] = await signOne(c);
for (const c of input.thumbprints || []) {
  out.thumbprints[c.name] = await jose.calculateJwkThumbprint(c.jwk, 'sha256');
}
for (const c of input.libtrust || []) out.libtrust[c.name] = libtrustKeyId(c.jwk);
process.stdout.write(JSON.stringify(out));
