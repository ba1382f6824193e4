// Test OpenID provider for auth-go end-to-end tests.
//
// A thin configuration of the certified oidc-provider package (see
// package.json / package-lock.json for the exact version). It is started by
// the Go harness in e2e/realop; run it by hand with
//
//   OP_PORT=3000 OP_ISSUER=http://127.0.0.1:3000 node provider.mjs
//
// Environment:
//   OP_PORT              TCP port on 127.0.0.1 (0 or unset: pick a free one)
//   OP_ISSUER            issuer identifier, an origin such as http://127.0.0.1:4000
//                        (default http://127.0.0.1:<port>). Every URL the provider
//                        emits is built from it, whatever Host the request carried,
//                        so a reverse proxy may sit in front of OP_PORT.
//   OP_CLIENTS_JSON      JSON array of client metadata (client_id, client_secret,
//                        redirect_uris, post_logout_redirect_uris,
//                        backchannel_logout_uri, token_endpoint_auth_method, ...)
//   OP_ACCESS_TOKEN_TTL  access token lifetime in seconds (default 30)
//   OP_RESOURCES_JSON    JSON array of resource servers, each either
//                        {"url": "https://api-one.example.test", "scope": "read:one"}
//                        (with "format": "opaque" for opaque access tokens, which
//                        the resource server introspects; JWTs otherwise)
//                        or a bare URL string (scope then "read:<x>" for host api-<x>.*)
//   OP_MTLS_ALIASES_JSON mutual TLS client authentication (RFC 8705): a JSON object
//                        published as mtls_endpoint_aliases, e.g. {"token_endpoint":
//                        "https://127.0.0.1:<port>/token"} for a TLS proxy of the test's.
//                        The client certificate is read from the X-Test-Client-Cert
//                        header (base64 DER) that the proxy sets: test use only.
//   OP_EXIT_ON_STDIN_EOF "1": exit when stdin closes (the Go harness keeps a pipe
//                        open so that the provider never outlives the test binary)
//
// Test hooks (not part of any protocol):
//   POST /__test/rotate-keys  adds a fresh signing key in front of the JWKS:
//                             tokens are signed with it from then on, and the
//                             old keys stay published.
//   X-Client-Cert header      the client certificate (URL-encoded PEM) of a
//                             token request, for certificate-bound access tokens
//                             (features.mTLS), as a TLS-terminating proxy sends it.
//
// Stdout carries only machine-readable lines:
//   {"event":"listening","addr":"127.0.0.1:<port>"}   once, before ready
//   ready <issuer>                                     once, when accepting requests
//   {"event":"<name>", ...}                            one per provider event (see EVENTS)
// Everything else (oidc-provider notices and warnings) goes to stderr.

import * as crypto from 'node:crypto';
import * as http from 'node:http';

// oidc-provider 9 officially wants Node 22+ LTS (it warns "Unsupported runtime"
// on 20) but runs on Node >= 20.18, which has the APIs it uses.
if (typeof URL.parse !== 'function' || typeof crypto.hash !== 'function') {
  console.error(`oidc-provider 9 needs Node.js >= 20.18 (URL.parse, crypto.hash); this is ${process.version}`);
  process.exit(2);
}

const { default: Provider, errors } = await import('oidc-provider');

// oidc-provider prints its development NOTICEs with console.info (stdout):
// keep stdout for the protocol lines above.
console.info = (...args) => console.error(...args);
console.log = (...args) => console.error(...args);

function emitLine(line) {
  process.stdout.write(`${line}\n`);
}

function envJSON(name, fallback) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  try {
    return JSON.parse(raw);
  } catch (err) {
    console.error(`${name} is not valid JSON: ${err.message}`);
    process.exit(2);
  }
}

const port = Number.parseInt(process.env.OP_PORT || '0', 10);
const accessTokenTTL = Number.parseInt(process.env.OP_ACCESS_TOKEN_TTL || '30', 10);
if (!Number.isSafeInteger(accessTokenTTL) || accessTokenTTL <= 0) {
  console.error('OP_ACCESS_TOKEN_TTL must be a positive integer (seconds)');
  process.exit(2);
}

const resources = new Map();
for (const entry of envJSON('OP_RESOURCES_JSON', [
  { url: 'https://api-one.example.test', scope: 'read:one' },
  { url: 'https://api-two.example.test', scope: 'read:two' },
])) {
  if (typeof entry === 'string') {
    const label = new URL(entry).hostname.split('.')[0].replace(/^api-/, '');
    resources.set(entry, { scope: `read:${label}`, format: 'jwt' });
  } else {
    resources.set(entry.url, { scope: entry.scope || '', format: entry.format || 'jwt' });
  }
}

const mtlsAliases = envJSON('OP_MTLS_ALIASES_JSON', null);

const clients = envJSON('OP_CLIENTS_JSON', []).map((c) => {
  const client = {
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    ...c,
  };
  for (const k of Object.keys(client)) {
    if (client[k] === '' || client[k] === null) delete client[k];
  }
  if (Array.isArray(client.post_logout_redirect_uris) && client.post_logout_redirect_uris.length === 0) {
    delete client.post_logout_redirect_uris;
  }
  if (client.backchannel_logout_uri && client.backchannel_logout_session_required === undefined) {
    // logout_token (and ID tokens) carry sid.
    client.backchannel_logout_session_required = true;
  }
  return client;
});

// Fresh keys on every start; POST /__test/rotate-keys adds one in front.
function newSigningJWK() {
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' };
}
const signingKeys = [newSigningJWK()];

function isLoopback(url) {
  const { hostname } = new URL(url);
  return hostname === 'localhost' || hostname === '[::1]' || /^127\./.test(hostname);
}

const configuration = {
  clients,
  // Authorization code flow only (no implicit / hybrid).
  responseTypes: ['code'],
  jwks: { keys: signingKeys },
  cookies: {
    // Distinct names so they never collide with the RP's own cookies in a
    // shared cookie jar (cookies are not port-scoped: RP and OP both live on 127.0.0.1).
    names: { session: 'op_session', interaction: 'op_interaction', resume: 'op_interaction_resume' },
    keys: [crypto.randomBytes(32).toString('base64url')],
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'groups'],
    email: ['email', 'email_verified'],
    groups: ['groups'],
    // Scopes no test asked for before the session format's round trips:
    // claims of every JSON shape, some different in userinfo.
    address: ['address'],
    phone: ['phone_number', 'phone_number_verified'],
    shapes: ['updated_at', 'claims_source', 'login_count', 'balance', 'big', 'flags', 'tags', 'empty', 'matrix', 'note'],
  },
  // Put the scope-granted claims into the ID token too (not only userinfo), so
  // an RP sees name/email/groups straight from the ID token.
  conformIdTokenClaims: false,
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      // use is "id_token" or "userinfo"; claims_source tells them apart.
      async claims(use) {
        return {
          sub,
          name: sub.charAt(0).toUpperCase() + sub.slice(1),
          preferred_username: sub,
          email: `${sub}@example.test`,
          email_verified: true,
          groups: sub === 'admin' ? ['admin', 'staff'] : ['staff'],
          address: {
            street_address: '1 Main St\nApt 2',
            locality: 'Zürich',
            postal_code: '8001',
            country: 'CH',
            geo: { lat: 47.3769, lng: 8.5417, verified: sub === 'admin', source: null },
          },
          phone_number: '+41 44 000 00 00',
          phone_number_verified: sub === 'admin',
          updated_at: 1700000000,
          claims_source: use,
          login_count: sub.length * 7,
          balance: -12.5,
          big: [2 ** 53 - 1, -(2 ** 53), 1e21, 0.1, -0],
          flags: [true, false, null],
          tags: [],
          empty: {},
          matrix: [[1, 2], [], [[{ deep: ['x'] }]]],
          note: 'emoji 😀, line\u2028separator, "quotes" and <html>',
        };
      },
    };
  },
  pkce: {
    // PKCE for every client; oidc-provider 9 only knows S256.
    required: () => true,
  },
  // Always issue a refresh token to clients allowed the refresh_token grant,
  // no offline_access / prompt=consent dance needed.
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  // Rotate on every use; reusing a consumed refresh token revokes the grant.
  rotateRefreshToken: true,
  // First-party test clients: auto-grant whatever is requested (OIDC scopes,
  // claims and resource-server scopes) so the devInteractions consent page is
  // never shown; only the login page is. Replaces the default loader, which
  // would otherwise just load the grant remembered in the session.
  async loadExistingGrant(ctx) {
    const { oidc } = ctx;
    const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
    let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
    if (!grant || grant.accountId !== oidc.session.accountId) {
      grant = new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: oidc.client.clientId });
    }
    const oidcScopes = [...oidc.requestParamOIDCScopes];
    if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
    const claims = [...(oidc.requestParamClaims || [])];
    if (claims.length) grant.addOIDCClaims(claims);
    for (const [indicator, rs] of Object.entries(oidc.resourceServers || {})) {
      const scope = [...rs.scopes].join(' ');
      if (scope) grant.addResourceScope(indicator, scope);
    }
    await grant.save();
    return grant;
  },
  ...(mtlsAliases && {
    discovery: { mtls_endpoint_aliases: mtlsAliases },
    clientAuthMethods: ['client_secret_basic', 'client_secret_jwt', 'client_secret_post', 'private_key_jwt', 'none', 'self_signed_tls_client_auth', 'tls_client_auth'],
  }),
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    backchannelLogout: { enabled: true },
    pushedAuthorizationRequests: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    // For API (resource server) tests: tokens without a user, and tokens
    // bound to a client certificate; and mutual TLS client authentication
    // (OP_MTLS_ALIASES_JSON). Only clients registered for them see a
    // difference.
    clientCredentials: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      selfSignedTlsClientAuth: true,
      // tls_client_auth: the test's TLS proxy required the certificate and
      // the test trusts it (no CA); the registered tls_client_auth_subject_dn
      // must be its subject, as Node prints it ("CN=name").
      tlsClientAuth: true,
      certificateAuthorized: (ctx) => Boolean(ctx.get('x-test-client-cert')),
      certificateSubjectMatches(ctx, property, expected) {
        const der = Buffer.from(ctx.get('x-test-client-cert'), 'base64');
        return property === 'tls_client_auth_subject_dn' && new crypto.X509Certificate(der).subject === expected;
      },
      getCertificate(ctx) {
        const cert = ctx.get('x-test-client-cert') || ctx.get('x-client-cert');
        return cert ? decodeURIComponent(cert) : undefined;
      },
    },
    resourceIndicators: {
      enabled: true,
      // No default: an authorization request must name its resources
      // (resource=... repeated) to be able to get tokens for them later.
      async defaultResource(ctx, client, oneOf) {
        return oneOf;
      },
      // Token requests without resource= get the (opaque, userinfo) access
      // token, never a resource-bound one.
      async useGrantedResource() {
        return false;
      },
      async getResourceServerInfo(ctx, resourceIndicator) {
        if (!resources.has(resourceIndicator)) {
          throw new errors.InvalidTarget();
        }
        const { scope, format } = resources.get(resourceIndicator);
        return {
          scope,
          audience: resourceIndicator,
          accessTokenFormat: format,
          accessTokenTTL,
        };
      },
    },
  },
  ttl: {
    AccessToken: (ctx, token) => token.resourceServer?.accessTokenTTL || accessTokenTTL,
    AuthorizationCode: 60,
    IdToken: 3600,
    Interaction: 3600,
    RefreshToken: 24 * 60 * 60,
    Session: 24 * 60 * 60,
    Grant: 24 * 60 * 60,
  },
  // Back-channel logout goes through oidc-provider's SSRF-protected fetch,
  // which refuses special-use addresses (loopback included). The test RPs
  // live on 127.0.0.1, so loopback targets bypass that dispatcher.
  fetch(url, options) {
    if (isLoopback(url)) {
      // eslint-disable-next-line no-param-reassign
      delete options.dispatcher;
    }
    return globalThis.fetch(url, options);
  },
  renderError(ctx, out) {
    ctx.type = 'json';
    ctx.body = out;
  },
};

const listenPort = port;
const provisionalIssuer = process.env.OP_ISSUER || '';

function newProvider(issuer) {
  const provider = new Provider(issuer, { ...configuration, jwks: { keys: [...signingKeys] } });
  // Trust X-Forwarded-*; the wrapper below always sets them from the issuer.
  provider.proxy = true;

  const EVENTS = {
    'grant.success': (ctx) => ({ grant_type: ctx.oidc?.params?.grant_type, client_id: ctx.oidc?.client?.clientId }),
    'grant.error': (ctx, err) => ({
      grant_type: ctx.oidc?.params?.grant_type ?? ctx.oidc?.body?.grant_type,
      error: err?.error ?? err?.name,
      error_description: err?.error_description,
    }),
    'refresh_token.consumed': (token) => ({ client_id: token?.clientId, grant_id: token?.grantId }),
    'grant.revoked': (ctx, grantId) => ({ grant_id: grantId }),
    'backchannel.success': (ctx, client, accountId, sid) => ({ client_id: client?.clientId, sub: accountId, sid }),
    'backchannel.error': (ctx, err, client, accountId, sid) => ({
      client_id: client?.clientId, sub: accountId, sid, error: String(err?.cause?.message ?? err?.message ?? err),
    }),
    'end_session.success': (ctx) => ({ client_id: ctx.oidc?.client?.clientId }),
    server_error: (ctx, err) => ({ error: String(err?.stack ?? err) }),
  };
  for (const [name, fields] of Object.entries(EVENTS)) {
    provider.on(name, (...args) => {
      let extra = {};
      try {
        extra = fields(...args);
      } catch { /* best effort */ }
      emitLine(JSON.stringify({ event: name, ...extra }));
    });
  }

  return provider;
}

function start(issuer) {
  let handler = newProvider(issuer).callback();
  const issuerURL = new URL(issuer);
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/__test/rotate-keys') {
      // The new provider shares the in-memory adapter: grants and tokens survive.
      signingKeys.unshift(newSigningJWK());
      handler = newProvider(issuer).callback();
      res.writeHead(204).end();
      return;
    }
    req.headers['x-forwarded-host'] = issuerURL.host;
    req.headers['x-forwarded-proto'] = issuerURL.protocol.replace(/:$/, '');
    handler(req, res);
  });
  return server;
}

if (provisionalIssuer) {
  const server = start(provisionalIssuer.replace(/\/$/, ''));
  server.listen(listenPort, '127.0.0.1', () => {
    const { port: actual } = server.address();
    emitLine(JSON.stringify({ event: 'listening', addr: `127.0.0.1:${actual}` }));
    emitLine(`ready ${provisionalIssuer.replace(/\/$/, '')}`);
  });
} else {
  // Issuer defaults to the listen address, known only once listening.
  const probe = http.createServer();
  probe.listen(listenPort, '127.0.0.1', () => {
    const { port: actual } = probe.address();
    probe.close(() => {
      const issuer = `http://127.0.0.1:${actual}`;
      const server = start(issuer);
      server.listen(actual, '127.0.0.1', () => {
        emitLine(JSON.stringify({ event: 'listening', addr: `127.0.0.1:${actual}` }));
        emitLine(`ready ${issuer}`);
      });
    });
  });
}

if (process.env.OP_EXIT_ON_STDIN_EOF === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.on('close', () => process.exit(0));
  process.stdin.resume();
}
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => process.exit(0));
}
