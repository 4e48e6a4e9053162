// Writes the seed corpus of jwt_fuzz.cc into corpus/jwt/ (run from this folder:
// `node make_jwt_seeds.mjs`). Needs only Node's own crypto module. The signing keys are the
// published example keys of RFC 7515 A.2 (RSA) and A.3 (P-256), whose public halves the fuzz
// target trusts, so some seeds carry signatures that really verify. RS256 seeds come out the
// same on every run; ES256 ones differ (ECDSA is randomized) but verify just the same.
import { createHash, createPrivateKey, sign } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';

const rsaJwk = {
  kty: 'RSA',
  n: 'ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ',
  e: 'AQAB',
  d: 'Eq5xpGnNCivDflJsRQBXHx1hdR1k6Ulwe2JZD50LpXyWPEAeP88vLNO97IjlA7_GQ5sLKMgvfTeXZx9SE-7YwVol2NXOoAJe46sui395IW_GO-pWJ1O0BkTGoVEn2bKVRUCgu-GjBVaYLU6f3l9kJfFNS3E0QbVdxzubSu3Mkqzjkn439X0M_V51gfpRLI9JYanrC4D4qAdGcopV_0ZHHzQlBjudU2QvXt4ehNYTCBr6XCLQUShb1juUO1ZdiYoFaFQT5Tw8bGUl_x_jTj3ccPDVZFD9pIuhLhBOneufuBiB4cS98l2SR_RQyGWSeWjnczT0QU91p1DhOVRuOopznQ',
  p: '4BzEEOtIpmVdVEZNCqS7baC4crd0pqnRH_5IB3jw3bcxGn6QLvnEtfdUdiYrqBdss1l58BQ3KhooKeQTa9AB0Hw_Py5PJdTJNPY8cQn7ouZ2KKDcmnPGBY5t7yLc1QlQ5xHdwW1VhvKn-nXqhJTBgIPgtldC-KDV5z-y2XDwGUc',
  q: 'uQPEfgmVtjL0Uyyx88GZFF1fOunH3-7cepKmtH4pxhtCoHqpWmT8YAmZxaewHgHAjLYsp1ZSe7zFYHj7C6ul7TjeLQeZD_YwD66t62wDmpe_HlB-TnBA-njbglfIsRLtXlnDzQkv5dTltRJ11BKBBypeeF6689rjcJIDEz9RWdc',
  dp: 'BwKfV3Akq5_MFZDFZCnW-wzl-CCo83WoZvnLQwCTeDv8uzluRSnm71I3QCLdhrqE2e9YkxvuxdBfpT_PI7Yz-FOKnu1R6HsJeDCjn12Sk3vmAktV2zb34MCdy7cpdTh_YVr7tss2u6vneTwrA86rZtu5Mbr1C1XsmvkxHQAdYo0',
  dq: 'h_96-mK1R_7glhsum81dZxjTnYynPbZpHziZjeeHcXYsXaaMwkOlODsWa7I9xXDoRwbKgB719rrmI2oKr6N3Do9U0ajaHF-NKJnwgjMd2w9cjz3_-kyNlxAr2v4IKhGNpmM5iIgOS1VZnOZ68m6_pbLBSp3nssTdlqvd0tIiTHU',
  qi: 'IYd7DHOhrWvxkwPQsRM2tOgrjbcrfvtQJipd-DlcxyVuuM9sQLdgjVk2oy26F0EmpScGLq2MowX7fhd_QJQ3ydy5cY7YIBi87w93IKLEdfnbJtoOPLUW0ITrJReOgo1cq9SbsxYawBgfp_gh6A5603k2-ZQwVK0JKSHuLFkuQ3U',
};
const ecJwk = {
  kty: 'EC',
  crv: 'P-256',
  x: 'f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU',
  y: 'x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0',
  d: 'jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI',
};

const b64u = (s) => Buffer.from(s).toString('base64url');
// RFC 7638 thumbprints of the two public keys (the kids the fuzz target's key set knows).
const thumb = (members) => createHash('sha256').update(JSON.stringify(members)).digest('base64url');
const rsaKid = thumb({ e: rsaJwk.e, kty: 'RSA', n: rsaJwk.n });
const ecKid = thumb({ crv: 'P-256', kty: 'EC', x: ecJwk.x, y: ecJwk.y });

function signed(alg, headerText, payloadText) {
  const input = `${b64u(headerText)}.${b64u(payloadText)}`;
  const key = createPrivateKey({ key: alg === 'RS256' ? rsaJwk : ecJwk, format: 'jwk' });
  const sig = sign('sha256', Buffer.from(input), alg === 'RS256'
    ? key : { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

// Valid at the fuzz target's fixed time (1700000000) for its requirements.
const claims = JSON.stringify({
  iss: 'registry-auth', sub: 'svc:acme/builder', aud: 'registry.example.com',
  exp: 4102444800, nbf: 1600000000, iat: 1600000000, jti: 'seed',
  access: [{ type: 'repository', name: 'acme/api', actions: ['pull', 'push'] }],
});
const rfcPayload = 'eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ';

const seeds = {
  // Tokens, as a registry client would send them.
  rfc7515_a2_rs256: `eyJhbGciOiJSUzI1NiJ9.${rfcPayload}.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw`,
  rfc7515_a3_es256: `eyJhbGciOiJFUzI1NiJ9.${rfcPayload}.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q`,
  valid_rs256_kid: signed('RS256', JSON.stringify({ alg: 'RS256', kid: rsaKid, typ: 'JWT' }), claims),
  valid_es256_kid: signed('ES256', JSON.stringify({ alg: 'ES256', kid: ecKid, typ: 'JWT' }), claims),
  float_exp: signed('ES256', JSON.stringify({ alg: 'ES256', kid: ecKid }), claims.replace('4102444800', '4102444800.0')),
  aud_array: signed('ES256', JSON.stringify({ alg: 'ES256', kid: ecKid }), claims.replace('"registry.example.com"', '["registry.example.com"]')),
  alg_mismatch: signed('ES256', JSON.stringify({ alg: 'RS256', kid: ecKid }), claims),
  alg_none: `${b64u('{"alg":"none"}')}.${b64u(claims)}.`,
  hs256: `${b64u(`{"alg":"HS256","kid":"${ecKid}"}`)}.${b64u(claims)}.${b64u('0123456789abcdef0123456789abcdef')}`,
  duplicate_alg: `${b64u('{"alg":"none","alg":"ES256"}')}.${b64u(claims)}.${b64u('x')}`,
  crit: `${b64u('{"alg":"ES256","crit":["b64"],"b64":false}')}.${b64u(claims)}.${b64u('x')}`,
  padded: `${b64u('{"alg":"ES256"}')}==.${b64u(claims)}.${b64u('x')}`,
  two_parts: `${b64u('{"alg":"ES256"}')}.${b64u(claims)}`,
  // "header \n payload \n signature" in clear: the fuzz target base64url-encodes each part.
  json_valid_es256: `{"alg":"ES256","kid":"${ecKid}"}\n${claims}\nsignature`,
  json_duplicate_nested: `{"alg":"ES256"}\n{"exp":1,"access":[{"type":"repository","type":"registry"}]}\nx`,
  json_deep: `{"alg":"ES256"}\n{"a":${'['.repeat(20)}${']'.repeat(20)}}\nx`,
  json_kid_number: `{"alg":"ES256","kid":7}\n{}\nx`,
  json_utf8: `{"alg":"ES256","kid":"\u00e9\u4e2d"}\n{"sub":"\ud83d\ude00","exp":4102444800}\nx`,
  json_big_numbers: `{"alg":"RS256"}\n{"exp":18446744073709551616,"nbf":-9223372036854775809,"iat":1e308}\nx`,
};

mkdirSync('corpus/jwt', { recursive: true });
for (const [name, text] of Object.entries(seeds)) writeFileSync(`corpus/jwt/${name}`, text);
console.log(`wrote ${Object.keys(seeds).length} seeds`);
