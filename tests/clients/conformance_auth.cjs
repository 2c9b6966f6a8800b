// Preload for the MCP conformance suite (`node --require ./conformance_auth.cjs ...`).
//
// The suite sends no Authorization header, and the gateway answers 401 without one.
// This adds `Authorization: Bearer $CONFORMANCE_TOKEN` to every request the suite makes
// to the origin of $CONFORMANCE_URL (and to no other origin, so the token goes nowhere
// else): the global fetch, undici's request/fetch (the suite imports `request` from
// undici for its DNS-rebinding scenario), and node:http/https requests.
"use strict";

const token = process.env.CONFORMANCE_TOKEN;
const target = process.env.CONFORMANCE_URL;
if (!token || !target) {
  throw new Error("conformance_auth.cjs needs CONFORMANCE_TOKEN and CONFORMANCE_URL");
}
const origin = new URL(target).origin;
const AUTH = `Bearer ${token}`;

function urlOf(input) {
  try {
    if (typeof input === "string" || input instanceof URL) return new URL(input);
    if (input && typeof input.url === "string") return new URL(input.url);
    if (input && typeof input === "object" && (input.host || input.hostname)) {
      const proto = input.protocol || "http:";
      const host = input.hostname || String(input.host).split(":")[0];
      const port = input.port ? `:${input.port}` : "";
      return new URL(`${proto}//${host}${port}${input.path || "/"}`);
    }
  } catch {}
  return null;
}

const ours = (input) => urlOf(input)?.origin === origin;

/** The headers, in whatever shape they came (object, array, Headers), plus ours. */
function withAuth(headers) {
  if (headers == null) return { authorization: AUTH };
  if (typeof Headers !== "undefined" && headers instanceof Headers) {
    const h = new Headers(headers);
    if (!h.has("authorization")) h.set("authorization", AUTH);
    return h;
  }
  if (Array.isArray(headers)) {
    const flat = headers.length > 0 && !Array.isArray(headers[0]);
    const names = flat ? headers.filter((_, i) => i % 2 === 0) : headers.map((p) => p[0]);
    if (names.some((n) => String(n).toLowerCase() === "authorization")) return headers;
    return flat ? [...headers, "authorization", AUTH] : [...headers, ["authorization", AUTH]];
  }
  if (Object.keys(headers).some((n) => n.toLowerCase() === "authorization")) return headers;
  return { ...headers, authorization: AUTH };
}

// The global fetch (the SDK's client transport and most scenarios).
const originalFetch = globalThis.fetch;
globalThis.fetch = function fetchWithAuth(input, init) {
  if (!ours(input)) return originalFetch(input, init);
  const base = init?.headers ?? (input instanceof Request ? input.headers : undefined);
  return originalFetch(input, { ...init, headers: withAuth(new Headers(base ?? {})) });
};

// undici, as the suite imports it (a CommonJS module: patching its exports before the
// suite's `import { request } from "undici"` is evaluated is enough).
try {
  const undici = require("undici");
  for (const name of ["request", "fetch", "stream"]) {
    const original = undici[name];
    if (typeof original !== "function") continue;
    undici[name] = function withAuthHeader(url, opts, ...rest) {
      if (!ours(url)) return original.call(this, url, opts, ...rest);
      return original.call(this, url, { ...opts, headers: withAuth(opts?.headers) }, ...rest);
    };
  }
} catch (e) {
  if (e?.code !== "MODULE_NOT_FOUND") throw e;
}

// node:http and node:https.
for (const mod of [require("node:http"), require("node:https")]) {
  for (const name of ["request", "get"]) {
    const original = mod[name];
    mod[name] = function withAuthHeader(...args) {
      const i = args.findIndex((a) => a && typeof a === "object" && !(a instanceof URL) && typeof a !== "function");
      const urlArg = typeof args[0] === "string" || args[0] instanceof URL ? args[0] : args[i];
      if (ours(urlArg)) {
        if (i >= 0) args[i] = { ...args[i], headers: withAuth(args[i].headers) };
        else args.splice(1, 0, { headers: { authorization: AUTH } });
      }
      return original.apply(this, args);
    };
  }
}
