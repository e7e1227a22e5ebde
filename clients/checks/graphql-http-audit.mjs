// The graphql-http server audits (GraphQL over HTTP spec) against a running server.
// usage: node checks/graphql-http-audit.mjs <url> [token]  — prints the results as JSON.
import { auditServer } from "graphql-http";

const [url, token] = process.argv.slice(2);
const fetchFn = (input, init = {}) => {
  const headers = new Headers(init.headers);
  if (token) headers.set("authorization", `Bearer ${token}`);
  return fetch(input, { ...init, headers });
};
const results = await auditServer({ url, fetchFn });
const summary = await Promise.all(results.map(async (r) => ({
  id: r.id,
  name: r.name,
  status: r.status,
  reason: r.reason ?? null,
  response: r.response ? { status: r.response.status, body: (await r.response.text()).slice(0, 300) } : null,
})));
console.log(JSON.stringify(summary));
