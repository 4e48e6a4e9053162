// A minimal Docker token realm for comparison (issue 20): what the seed plans' Node.js realm
// does, written plainly on node:http and the npm jose package, so bench/token-vs-reference.sh
// can measure registry-authd against it on the same machine in the same run. Benchmark only:
// it has none of the service's hardening (no throttle, no audit, no limits) and is never
// deployed.
//
// Per request, the same work as registry-authd's `/token` for a service account:
//   - parse `Authorization: Basic` (user `<workspace>+<account>`, password the account secret);
//   - check the secret against its stored HMAC-SHA256 in constant time;
//   - parse `scope=repository:<name>:<actions>` and grant the actions the account's
//     repository patterns allow (`bench/*` style);
//   - sign an ES256 registry token (iss, sub, aud, exp, nbf, iat, jti, access) with jose;
//   - answer {token, access_token, expires_in, issued_at}, Cache-Control: no-store.
//
//   REF_PORT=0 REF_WORKERS=2 REF_SERVICE=registry.bench \
//   REF_ACCOUNT=bench+builder REF_SECRET=... REF_GRANT='bench/*:pull,push' node realm.mjs
//
// Prints `reference realm listening on 127.0.0.1:<port>` once every worker is listening.
import cluster from 'node:cluster';
import crypto from 'node:crypto';
import http from 'node:http';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

const env = process.env;
const service = env.REF_SERVICE || 'registry.bench';
const workers = Number(env.REF_WORKERS || 2);

if (cluster.isPrimary) {
  // One listening socket shared by the workers (the primary accepts and hands out connections
  // round-robin, node's default on Linux).
  const server = http.createServer();
  server.listen(Number(env.REF_PORT || 0), '127.0.0.1', () => {
    const port = server.address().port;
    server.close();
    let ready = 0;
    for (let i = 0; i < workers; i++) {
      const w = cluster.fork({ ...env, REF_PORT: String(port) });
      w.on('message', (m) => {
        if (m === 'listening' && ++ready === workers) {
          console.log(`reference realm listening on 127.0.0.1:${port}`);
        }
      });
    }
  });
} else {
  const hmacKey = crypto.randomBytes(32);
  const hash = (secret) => crypto.createHmac('sha256', hmacKey).update(secret).digest();
  const account = {
    name: env.REF_ACCOUNT || 'bench+builder',
    secretHash: hash(env.REF_SECRET || ''),
    grants: (env.REF_GRANT || 'bench/*:pull,push').split(';').map((g) => {
      const [pattern, actions] = g.split(':');
      return { pattern, actions: actions.split(',') };
    }),
  };
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = (await exportJWK(publicKey)).x.slice(0, 16);

  const matches = (pattern, name) =>
    pattern.endsWith('/*') ? name.startsWith(pattern.slice(0, -1)) && name.length > pattern.length - 1
                           : pattern === name;

  const reply = (res, status, body, extra = {}) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': 'application/json',
      'Content-Length': Buffer.byteLength(text),
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(text);
  };
  const unauthorized = (res) =>
    reply(res, 401, { errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] },
          { 'WWW-Authenticate': 'Basic realm="reference"' });

  http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://x');
      if (req.method !== 'GET' || url.pathname !== '/token') return reply(res, 404, {});
      if (url.searchParams.get('service') !== service) return reply(res, 400, {});
      const auth = req.headers.authorization || '';
      if (!auth.startsWith('Basic ')) return unauthorized(res);
      const decoded = Buffer.from(auth.slice(6), 'base64').toString();
      const colon = decoded.indexOf(':');
      if (colon < 0) return unauthorized(res);
      const user = decoded.slice(0, colon);
      const given = hash(decoded.slice(colon + 1));
      if (user !== account.name || !crypto.timingSafeEqual(given, account.secretHash)) {
        return unauthorized(res);
      }
      const access = [];
      for (const scope of url.searchParams.getAll('scope')) {
        const parts = scope.split(':');
        if (parts.length !== 3 || parts[0] !== 'repository') return reply(res, 400, {});
        const [type, name, wanted] = parts;
        const allowed = new Set();
        for (const g of account.grants) {
          if (matches(g.pattern, name)) g.actions.forEach((a) => allowed.add(a));
        }
        const actions = wanted.split(',').filter((a) => allowed.has(a));
        if (actions.length > 0) access.push({ type, name, actions });
      }
      const now = Math.floor(Date.now() / 1000);
      const token = await new SignJWT({ access, jti: crypto.randomBytes(16).toString('base64url') })
        .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
        .setIssuer('reference-realm')
        .setSubject(user)
        .setAudience(service)
        .setIssuedAt(now)
        .setNotBefore(now)
        .setExpirationTime(now + 300)
        .sign(privateKey);
      reply(res, 200, {
        token,
        access_token: token,
        expires_in: 300,
        issued_at: new Date(now * 1000).toISOString(),
      });
    } catch (e) {
      reply(res, 500, { errors: [{ code: 'INTERNAL' }] });
    }
  }).listen(Number(env.REF_PORT), '127.0.0.1', () => process.send('listening'));
}
