// A real OpenID provider (npm oidc-provider) for the identity tests: discovery, JWKS, and the client_credentials grant
// issuing RS256 JWT access tokens. POST /rotate swaps in a new signing key (dropping the old ones, or keeping them
// published with ?keep=true). Usage: node provider.mjs <port> <audience>. Prints "ready <kid>" once listening.
// Installed by scripts/services.sh (oidc_up) into .services/oidc; NODE_PATH is not read by ES modules, so the test
// passes the package's path in OIDC_PROVIDER_MODULE.
import http from 'node:http';
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';

const { default: Provider } = await import(pathToFileURL(process.env.OIDC_PROVIDER_MODULE).href);

const port = Number(process.argv[2]);
const audience = process.argv[3];
const issuer = `http://127.0.0.1:${port}`;

function newKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

function build(keys) {
  return new Provider(issuer, {
    clients: [{
      client_id: 'backend',
      client_secret: 'backend-secret-for-tests',
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      token_endpoint_auth_method: 'client_secret_post',
    }],
    jwks: { keys },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => audience,
        getResourceServerInfo: () => ({
          scope: 'vocab', audience, accessTokenFormat: 'jwt', accessTokenTTL: 600, jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    // The shape providers such as Keycloak use: a roles array holding the service's role among their own.
    extraTokenClaims: () => ({ roles: ['uma_authorization', 'user'] }),
  });
}

let keys = [newKey()];
let provider = build(keys);

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url.startsWith('/rotate')) {
    keys = req.url.includes('keep=true') ? [newKey(), ...keys] : [newKey()];
    provider = build(keys);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ kid: keys[0].kid }));
    return;
  }
  provider.callback()(req, res);
});
server.listen(port, '127.0.0.1', () => console.log(`ready ${keys[0].kid}`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
