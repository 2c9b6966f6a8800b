#!/usr/bin/env node
// End-to-end check of the gateway with the real Codex CLI, driven through
// `codex app-server` (JSON-RPC over stdio). No model and no API key are used: the
// tools are called with `mcpServer/tool/call`, which runs them on the thread's MCP
// connection exactly as a model's tool call would.
//
//   node codex_client.mjs URL TOKEN
//
// URL is the MCP endpoint (http://HOST:PORT/mcp), TOKEN an agent token named "Web bot"
// for the demo project WEB with project:read, issue:{read,create,update,move,comment,
// label,assign,blocks} and session:report.
//
// 1. GET /api/v1/agent-session/setup with the token: the setup packet.
// 2. A fresh CODEX_HOME with config.toml = a preamble that keeps Codex offline (a model
//    provider on a closed loopback port, no update check, no apps/plugins) + the packet's
//    `codex.config_toml`, its url pointed at URL (the same as the packet's url, which the
//    gateway derives from the port it bound; pointing it keeps the test explicit). The packet's
//    AGENTS.md goes into the thread's working directory. The token is only in the
//    environment variable the packet names, in the codex process's environment.
// 3. `codex app-server`: initialize, initialized, mcpServerStatus/list (our server, its
//    tools, bearer-token auth), thread/start, then mcpServer/tool/call: list_projects,
//    get_project_context, start_work_session (on WEB-1), create_issue,
//    update_structured_blocks (replace plan + append_log, then replace with the version
//    read back), report_progress (on WEB-2), move_issue, finish_work_session (done); and
//    checks that nothing can delete or archive.
// 4. The token appears in no file Codex wrote, nor in the setup packet, nor in anything
//    the app-server sent.
//
// Prints one JSON line on stdout at the end ({"ok": true, ...}) and exits 0 when every
// check passed; otherwise {"ok": false, "error": ...}, the details on stderr, exit 1.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import readline from "node:readline";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CODEX_PKG = path.join(HERE, "node_modules", "@openai", "codex");
const CODEX_JS = path.join(CODEX_PKG, "bin", "codex.js");
const CODEX_VERSION = JSON.parse(readFileSync(path.join(CODEX_PKG, "package.json"), "utf8")).version;
const PROJECT_ID = "7a5c0002-0000-4000-8000-000000000111";
const EXPECTED_TOOLS = [
  "add_comment",
  "assign_issue",
  "create_issue",
  "finish_work_session",
  "get_issue",
  "get_project_context",
  "list_projects",
  "move_issue",
  "report_progress",
  "search_issues",
  "set_issue_labels",
  "start_work_session",
  "update_issue",
  "update_structured_blocks",
];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FORBIDDEN = /delete|archive|destroy|purge|trash/i;

// Keeps Codex off the network: the only thing it may reach is the gateway.
const OFFLINE_PREAMBLE = `# Written by tests/clients/codex_client.mjs: no model is used, nothing but the
# gateway is contacted.
check_for_update_on_startup = false
model_provider = "offline"

[model_providers.offline]
name = "offline (no model in this test)"
base_url = "http://127.0.0.1:9/v1"
wire_api = "responses"

[features]
apps = false
plugins = false
remote_plugin = false

`;

class CheckFailed extends Error {}
let checks = 0;
function check(cond, what, got) {
  checks += 1;
  if (!cond) {
    const detail = got === undefined ? "" : `; got: ${JSON.stringify(got)?.slice(0, 2000)}`;
    throw new CheckFailed(`${what}${detail}`);
  }
}

const withTimeout = (promise, ms, what) =>
  Promise.race([promise, new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms).unref())]);

/** `codex app-server` as a JSON-RPC peer (one JSON object per line, no "jsonrpc" field). */
class AppServer {
  constructor(codexHome, env) {
    this.proc = spawn(process.execPath, [CODEX_JS, "app-server"], {
      cwd: codexHome,
      env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    this.nextId = 1;
    this.pending = new Map();
    this.notifications = [];
    this.waiters = [];
    this.received = []; // every line, for the token search
    this.stderr = "";
    this.exited = null;
    this.proc.stderr.on("data", (d) => {
      this.stderr += d;
    });
    this.proc.on("exit", (code, signal) => {
      this.exited = { code, signal };
      for (const { reject } of this.pending.values()) reject(new Error(`codex app-server exited (${code ?? signal})`));
      this.pending.clear();
    });
    readline.createInterface({ input: this.proc.stdout }).on("line", (line) => this.onLine(line));
  }

  onLine(line) {
    this.received.push(line);
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      return;
    }
    if (msg.id !== undefined && (msg.result !== undefined || msg.error !== undefined)) {
      const p = this.pending.get(msg.id);
      if (p) {
        this.pending.delete(msg.id);
        p.resolve(msg);
      }
    } else if (msg.id !== undefined && msg.method) {
      // A request from the server (approval, elicitation...): none is expected here.
      this.send({ id: msg.id, error: { code: -32601, message: "not supported by this test client" } });
    } else if (msg.method) {
      this.notifications.push(msg);
      this.waiters = this.waiters.filter((w) => !(w.pred(msg) && (w.resolve(msg), true)));
    }
  }

  send(obj) {
    this.proc.stdin.write(`${JSON.stringify(obj)}\n`);
  }

  /** The raw response ({result} or {error}). */
  request(method, params, ms = 60_000) {
    const id = this.nextId++;
    const answer = new Promise((resolve, reject) => this.pending.set(id, { resolve, reject }));
    this.send({ id, method, params });
    return withTimeout(answer, ms, method);
  }

  async ok(method, params, ms) {
    const r = await this.request(method, params, ms);
    check(r.error === undefined, `${method} answered an error`, r.error);
    return r.result;
  }

  notify(method, params) {
    this.send(params === undefined ? { method } : { method, params });
  }

  waitFor(pred, ms, what) {
    const seen = this.notifications.find(pred);
    if (seen) return Promise.resolve(seen);
    return withTimeout(new Promise((resolve) => this.waiters.push({ pred, resolve })), ms, what);
  }

  /** Closes its stdin (it exits on EOF); SIGTERM after 5 s, SIGKILL after 10 s. */
  async stop() {
    if (this.exited) return;
    const gone = new Promise((r) => this.proc.once("exit", r));
    this.proc.stdin.end();
    const term = setTimeout(() => this.proc.kill("SIGTERM"), 5_000);
    const kill = setTimeout(() => this.proc.kill("SIGKILL"), 10_000);
    await gone;
    clearTimeout(term);
    clearTimeout(kill);
  }
}

function filesUnder(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

async function scenario(url, token, state) {
  const summary = {};
  const runId = randomBytes(5).toString("hex");
  const key = (name) => `codex-${name}-${runId}`;

  // --- 1. the setup packet
  const setupUrl = new URL("/api/v1/agent-session/setup", url);
  const res = await fetch(setupUrl, { headers: { Authorization: `Bearer ${token}` } });
  const packetText = await res.text();
  check(res.status === 200, "setup packet", { status: res.status, body: packetText.slice(0, 500) });
  check(!packetText.includes(token), "the setup packet does not contain the token");
  const packet = JSON.parse(packetText);
  const codex = packet.codex ?? {};
  const server = codex.server_name;
  const envVar = codex.bearer_token_env_var;
  check(server === "nodedc_web_bot" && envVar === "NODEDC_AGENT_TOKEN_WEB_BOT", "server name and variable", codex);
  check(codex.config_toml?.startsWith(`[mcp_servers.${server}]\n`), "config_toml table", codex.config_toml);
  check(codex.config_toml.includes(`bearer_token_env_var = "${envVar}"`), "config_toml names the variable", codex.config_toml);
  check(/^url = "https?:\/\/[^"]+\/mcp"$/m.test(codex.config_toml), "config_toml url", codex.config_toml);
  check(typeof packet.agents_md === "string" && packet.agents_md.includes(envVar), "agents_md", packet.agents_md);
  check(
    ["## Work sessions", "start_work_session", "report_progress", "finish_work_session"].every((t) => packet.agents_md.includes(t)),
    "agents_md tells the agent to report work sessions (session:report is granted)",
    packet.agents_md,
  );
  summary.setup_url_in_packet = codex.url;

  // --- 2. CODEX_HOME and the workspace
  const codexHome = mkdtempSync(path.join(tmpdir(), "codex-home-"));
  const workspace = mkdtempSync(path.join(tmpdir(), "codex-ws-"));
  state.cleanup.push(codexHome, workspace);
  const configToml = OFFLINE_PREAMBLE + codex.config_toml.replace(/^url = "[^"]*"$/m, `url = "${url}"`);
  writeFileSync(path.join(codexHome, "config.toml"), configToml);
  writeFileSync(path.join(workspace, "AGENTS.md"), packet.agents_md);

  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: codexHome,
    CODEX_HOME: codexHome,
    NO_COLOR: "1",
    RUST_LOG: "error",
    [envVar]: token,
  };
  const app = new AppServer(codexHome, env);
  state.app = app;

  // --- 3. the app-server
  const init = await app.ok("initialize", { clientInfo: { name: "nodedc-e2e", title: "NODE.DC e2e test", version: "1.0.0" } });
  check(init.codexHome === codexHome, "codex uses our CODEX_HOME", init);
  summary.user_agent = init.userAgent;
  app.notify("initialized");

  const status = await app.ok("mcpServerStatus/list", {}, 90_000);
  const ours = (status.data ?? []).find((s) => s.name === server);
  check(ours, `mcpServerStatus/list shows ${server}`, status);
  check(ours.authStatus === "bearerToken", "bearer-token auth", ours.authStatus);
  check(!ours.toolsError, "tools listed without error", ours.toolsError);
  check(ours.serverInfo?.name === "nodedc-agent-gateway", "server info", ours.serverInfo);
  check(new URL(url).origin === ours.httpOrigin, "http origin", ours.httpOrigin);
  const toolNames = Object.keys(ours.tools ?? {}).sort();
  check(JSON.stringify(toolNames) === JSON.stringify(EXPECTED_TOOLS), "Codex sees exactly the granted tools", toolNames);
  check(!toolNames.includes("add_project_member"), "add_project_member (scope not granted) is absent");
  for (const [name, tool] of Object.entries(ours.tools)) {
    check(!FORBIDDEN.test(name), `tool name ${name} cannot delete or archive`);
    const props = Object.keys(tool.inputSchema?.properties ?? {});
    check(!props.some((p) => FORBIDDEN.test(p)), `${name}: no delete/archive argument`, props);
    // Unknown arguments are refused by name when called (checked below), not by the schema,
    // which stays lean; it must not invite them either.
    check(tool.inputSchema?.additionalProperties !== true, `${name}: no open-ended arguments`, tool.inputSchema);
    check(tool.annotations?.destructiveHint !== true, `${name}: not destructive`, tool.annotations);
  }
  summary.tools = toolNames.length;

  const started = await app.ok("thread/start", { cwd: workspace, ephemeral: true, approvalPolicy: "never", sandbox: "read-only" });
  const threadId = started.thread?.id;
  check(typeof threadId === "string" && threadId.length > 0, "thread id", started);
  check(started.modelProvider === "offline", "no real model provider", started.modelProvider);
  summary.instruction_sources = (started.instructionSources ?? []).map((s) => (typeof s === "string" ? path.basename(s) : s));
  check(
    (started.instructionSources ?? []).some((s) => typeof s === "string" && s === path.join(workspace, "AGENTS.md")),
    "Codex reads the packet's AGENTS.md",
    started.instructionSources,
  );
  const ready = await app.waitFor(
    (n) => n.method === "mcpServer/startupStatus/updated" && n.params?.name === server && ["ready", "failed", "cancelled"].includes(n.params?.status),
    60_000,
    `${server} startup`,
  );
  check(ready.params.status === "ready", `${server} ready on the thread`, ready.params);
  const threadStatus = await app.ok("mcpServerStatus/list", { threadId, serverName: server, detail: "toolsAndAuthOnly" }, 60_000);
  const onThread = (threadStatus.data ?? []).find((s) => s.name === server);
  check(onThread?.runtimeStatus === "connected", "connected on the thread", onThread && { runtimeStatus: onThread.runtimeStatus });

  const called = [];
  const tool = async (name, args, { expectError = false } = {}) => {
    called.push(name);
    let r;
    for (let attempt = 0; ; attempt++) {
      r = await app.request("mcpServer/tool/call", { server, threadId, tool: name, arguments: args });
      const text = r.result?.content?.[0]?.text ?? "";
      const wait = r.result?.isError && attempt < 5 && /^Error \(rate_limited\).*Retry in (\d+) seconds/.exec(text);
      if (!wait) break;
      await new Promise((ok) => setTimeout(ok, Number(wait[1]) * 1000 + 200));
    }
    if (expectError) return r;
    check(r.error === undefined, `${name}: JSON-RPC error`, r.error);
    check(r.result.isError !== true, `${name} failed`, r.result.content);
    check(r.result.content?.[0]?.type === "text", `${name}: text content`, r.result);
    check(r.result.structuredContent && typeof r.result.structuredContent === "object", `${name}: structuredContent`, r.result);
    return r.result.structuredContent;
  };

  const { projects } = await tool("list_projects", {});
  check(projects.length === 1 && projects[0].identifier === "WEB" && projects[0].id === PROJECT_ID, "list_projects", projects);
  const ctx = await tool("get_project_context", { project: "WEB" });
  check(ctx.states.some((s) => s.name === "In Progress") && ctx.states.some((s) => s.name === "Done"), "states", ctx.states);

  // A work session, as the packet's AGENTS.md asks: started at the beginning (on WEB-1),
  // progress when the card changes (WEB-2), finished at the end.
  const goal = `Codex work session ${runId}`;
  const opened = await tool("start_work_session", { goal, card: "WEB-1", idempotency_key: key("session-start") });
  const sid = opened.id;
  check(UUID.test(sid ?? ""), "start_work_session: a session id", opened);
  check(opened.state === "active" && opened.goal === goal && opened.card === "WEB-1", "session active on WEB-1", opened);
  check(opened.outcome == null, "session not ended", opened);
  summary.work_session = sid;

  const title = `Codex card ${runId}`;
  const created = await tool("create_issue", {
    project: "WEB",
    title,
    labels: ["feature"],
    blocks: { goal: "Show that the real Codex CLI works with the gateway." },
    idempotency_key: key("create"),
  });
  const cardKey = created.key;
  check(cardKey.startsWith("WEB-") && created.state === "Todo", "card created in Todo", created);
  const issue = await tool("get_issue", { issue: cardKey });
  check(issue.title === title && issue.id === created.id, "the card reads back", issue);
  summary.issue = cardKey;

  const plan = "1. configure Codex from the setup packet\n2. call the tools";
  const entry = `codex app-server ran ${runId}`;
  const b1 = await tool("update_structured_blocks", {
    issue: cardKey,
    ops: [{ op: "replace", block: "plan", text: plan }, { op: "append_log", entry }],
    idempotency_key: key("blocks-1"),
  });
  check(Object.keys(b1.block_versions ?? {}).sort().join() === "log,plan", "the new versions of plan and log", b1);
  const got = await tool("get_issue", { issue: cardKey });
  const version = got.block_versions?.plan;
  check(got.blocks.plan === plan && (got.blocks.log ?? []).some((e) => e.includes(entry)), "plan and log written", got.blocks);
  check(version === b1.block_versions.plan && got.blocks.goal?.startsWith("Show that"), "plan version and goal read back", got);
  const plan2 = `${plan}\n3. replace with base_version`;
  const b2 = await tool("update_structured_blocks", {
    issue: cardKey,
    ops: [{ op: "replace", block: "plan", text: plan2, base_version: version }],
    idempotency_key: key("blocks-2"),
  });
  check(b2.block_versions.plan !== version, "plan version changed", b2);
  check((await tool("get_issue", { issue: cardKey })).blocks.plan === plan2, "plan replaced with base_version", b2);

  const step = `reviewing WEB-2 for ${runId}`;
  const progress = await tool("report_progress", { session: sid, card: "WEB-2", status: step, idempotency_key: key("session-progress") });
  check(progress.id === sid && progress.state === "active", "progress on the same session", progress);
  check(progress.card === "WEB-2" && progress.last_status === step, "session now on WEB-2", progress);

  const moved = await tool("move_issue", { issue: cardKey, state: "In Progress", idempotency_key: key("move") });
  check(moved.state === "In Progress", "moved to In Progress", moved);
  const done = await tool("move_issue", { issue: cardKey, state: "Done", idempotency_key: key("move-2") });
  check(done.state === "Done", "moved to Done", done);
  check((await tool("get_issue", { issue: cardKey })).state.group === "completed", "Done is completed", done);
  const summaryText = `Codex run ${runId}: ${cardKey} created, planned and done`;
  const finished = await tool("finish_work_session", { session: sid, outcome: "done", summary: summaryText, idempotency_key: key("session-finish") });
  check(finished.id === sid && finished.state === "finished", "session finished", finished);
  check(finished.outcome === "done" && finished.summary === summaryText, "outcome done, summary", finished);
  check(finished.card === "WEB-2", "ended on WEB-2", finished);
  const late = await tool("report_progress", { session: sid, status: "too late", idempotency_key: key("session-late") }, { expectError: true });
  check(late.result?.isError === true && /^Error \(work_session_ended\)/.test(late.result.content?.[0]?.text ?? ""), "no progress on a finished session", late);

  // --- nothing deletes or archives
  const refusals = {};
  for (const name of ["delete_issue", "archive_issue", "delete_project"]) {
    const r = await tool(name, { issue: cardKey, project: "WEB", idempotency_key: key(name) }, { expectError: true });
    check(r.error !== undefined || r.result?.isError === true, `${name} must fail`, r);
    refusals[name] = r.error?.message ?? r.result?.content?.[0]?.text;
  }
  for (const [name, args] of [
    ["update_issue", { issue: cardKey, archived: true, idempotency_key: key("archived") }],
    ["update_issue", { issue: cardKey, deleted: true, idempotency_key: key("deleted") }],
    ["update_issue", { issue: cardKey, archived_at: "2030-01-01T00:00:00Z", idempotency_key: key("archived-at") }],
    ["move_issue", { issue: cardKey, state: "Archived", idempotency_key: key("move-archived") }],
    ["move_issue", { issue: cardKey, state: "Deleted", idempotency_key: key("move-deleted") }],
  ]) {
    const r = await tool(name, args, { expectError: true });
    check(r.error !== undefined || r.result?.isError === true, `${name} ${JSON.stringify(args)} must fail`, r);
  }
  summary.refusals = refusals;
  const still = await tool("get_issue", { issue: cardKey });
  check(still.key === cardKey && still.state.name === "Done" && still.title === title, "the card is still there, unchanged", still);
  summary.calls = called.length;

  // --- the token is in no file, packet or message
  await app.stop();
  const written = filesUnder(codexHome).concat(filesUnder(workspace));
  check(written.some((f) => f.endsWith("config.toml")), "config.toml written", written);
  const leaks = written.filter((f) => readFileSync(f).includes(token));
  check(leaks.length === 0, "the token is in no file under CODEX_HOME or the workspace", leaks);
  check(!app.received.some((l) => l.includes(token)), "the token is in no app-server message");
  check(!app.stderr.includes(token), "the token is not in the app-server's stderr");
  summary.files_checked = written.length;
  return summary;
}

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node codex_client.mjs URL TOKEN");
  process.exit(2);
}
const base = { client: "codex", codex_version: CODEX_VERSION, node: process.version };
const state = { cleanup: [], app: null };
const finish = async (code, out) => {
  try {
    await state.app?.stop();
  } catch {}
  for (const d of state.cleanup) rmSync(d, { recursive: true, force: true });
  console.log(JSON.stringify(out));
  process.exit(code);
};
const timer = setTimeout(() => {
  console.error("codex_client: FAILED: timed out after 240 s");
  if (state.app) console.error(`codex app-server stderr:\n${state.app.stderr.slice(-4000)}`);
  finish(1, { ...base, ok: false, error: "timeout" });
}, 240_000);
try {
  const summary = await scenario(url, token, state);
  clearTimeout(timer);
  await finish(0, { ...base, ok: true, ...summary, checks });
} catch (e) {
  clearTimeout(timer);
  console.error(e?.stack ?? e);
  if (state.app) console.error(`codex app-server stderr (last 4000 chars):\n${state.app.stderr.slice(-4000)}`);
  console.error(`codex_client: FAILED: ${e?.message ?? e}`);
  await finish(1, { ...base, ok: false, error: String(e?.message ?? e) });
}
