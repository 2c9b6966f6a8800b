#!/usr/bin/env node
// End-to-end check of the gateway's MCP endpoint with the official TypeScript SDK.
//
//   node ts_client.mjs URL TOKEN
//
// URL is the MCP endpoint (http://HOST:PORT/mcp), TOKEN an agent token for the demo
// project WEB with project:read, issue:{read,create,update,move,comment,label,assign,
// blocks} and session:report. Connects with StreamableHTTPClientTransport (the bearer
// token in requestInit.headers), lists the tools, calls every one (a work session
// included: started on WEB-1 named by its id, progress on WEB-2, finished `done`) and
// checks the structured results (the SDK also validates structuredContent against each
// output schema), then ends the session with DELETE and checks the old session id is
// refused.
//
// Prints one JSON line on stdout at the end ({"ok": true, ...}) and exits 0 when every
// check passed; otherwise {"ok": false, "error": ...}, the details on stderr, exit 1.

import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { McpError } from "@modelcontextprotocol/sdk/types.js";

const SDK_VERSION = JSON.parse(
  readFileSync(new URL("./node_modules/@modelcontextprotocol/sdk/package.json", import.meta.url), "utf8"),
).version;

const PROJECT_ID = "7a5c0002-0000-4000-8000-000000000111";
const EXPECTED_TOOLS = [
  "list_projects",
  "get_project_context",
  "search_issues",
  "get_issue",
  "create_issue",
  "update_issue",
  "move_issue",
  "add_comment",
  "set_issue_labels",
  "assign_issue",
  "update_structured_blocks",
  "start_work_session",
  "report_progress",
  "finish_work_session",
];
const READ_TOOLS = new Set(["list_projects", "get_project_context", "search_issues", "get_issue"]);
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

class CheckFailed extends Error {}

let checks = 0;
function check(cond, what, got) {
  checks += 1;
  if (!cond) {
    const detail = got === undefined ? "" : `; got: ${JSON.stringify(got)?.slice(0, 2000)}`;
    throw new CheckFailed(`${what}${detail}`);
  }
}

const runId = randomBytes(5).toString("hex");
const key = (name) => `ts-${name}-${runId}`;
const called = new Map();
let rateLimitedRetries = 0;

async function call(client, name, args, { expectError = false } = {}) {
  called.set(name, (called.get(name) ?? 0) + 1);
  let result;
  let texts;
  // A rate-limited write says when to retry ("Retry in N seconds."): do as it says.
  for (let attempt = 0; ; attempt++) {
    result = await client.callTool({ name, arguments: args });
    texts = (result.content ?? []).filter((c) => c.type === "text").map((c) => c.text);
    const wait = result.isError && attempt < 5 && /^Error \(rate_limited\).*Retry in (\d+) seconds/.exec(texts[0] ?? "");
    if (!wait) break;
    rateLimitedRetries += 1;
    await new Promise((r) => setTimeout(r, Number(wait[1]) * 1000 + 200));
  }
  if (expectError) {
    check(result.isError === true, `${name} should fail with isError`, result);
    check(texts.length > 0 && texts[0].startsWith("Error ("), `${name}: error text`, texts);
    return texts[0];
  }
  check(!result.isError, `${name} failed: ${texts.join(" ")}`, args);
  check(texts.length > 0 && texts[0].trim() !== "", `${name}: a text content block`, result);
  check(result.structuredContent && typeof result.structuredContent === "object", `${name}: structuredContent`, result);
  return result.structuredContent;
}

async function scenario(url, token) {
  const summary = {};
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: { headers: { Authorization: `Bearer ${token}` } },
  });
  const client = new Client({ name: "nodedc-e2e-ts", version: "1.0.0" });
  await client.connect(transport);

  // --- handshake and tool list
  summary.protocol_version = transport.protocolVersion;
  check(["2025-11-25", "2025-06-18", "2025-03-26"].includes(transport.protocolVersion), "negotiated version", transport.protocolVersion);
  check(typeof transport.sessionId === "string" && transport.sessionId.length > 0, "session id", transport.sessionId);
  check(client.getServerVersion()?.name === "nodedc-agent-gateway", "server name", client.getServerVersion());
  check(client.getServerCapabilities()?.tools !== undefined, "tools capability", client.getServerCapabilities());
  check((client.getInstructions() ?? "").includes("list_projects"), "instructions", client.getInstructions());
  await client.ping();

  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name).sort();
  check(JSON.stringify(names) === JSON.stringify([...EXPECTED_TOOLS].sort()), "tool set", names);
  check(!names.includes("add_project_member"), "add_project_member needs a scope the agent lacks");
  check(!names.some((n) => n.includes("delete") || n.includes("archive")), "no delete/archive tool", names);
  for (const t of tools) {
    check(t.inputSchema?.type === "object", `${t.name}: input schema`);
    check(t.outputSchema?.type === "object", `${t.name}: output schema`, t.outputSchema);
    check(typeof t.title === "string" && t.title.length > 0, `${t.name}: title`, t);
    if (READ_TOOLS.has(t.name)) {
      check(t.annotations?.readOnlyHint === true, `${t.name}: readOnlyHint`, t.annotations);
    } else {
      check(t.annotations?.readOnlyHint !== true && t.annotations?.destructiveHint === false, `${t.name}: not destructive`, t.annotations);
      check((t.inputSchema.required ?? []).includes("idempotency_key"), `${t.name}: idempotency_key required`, t.inputSchema.required);
    }
  }
  summary.tools = tools.length;

  // --- reads
  const { projects } = await call(client, "list_projects", {});
  const web = projects.filter((p) => p.identifier === "WEB");
  check(web.length === 1 && web[0].id === PROJECT_ID, "list_projects shows WEB", projects);

  const ctx = await call(client, "get_project_context", { project: PROJECT_ID });
  const stateNames = ctx.states.map((s) => s.name).sort();
  check(JSON.stringify(stateNames) === JSON.stringify(["Backlog", "Cancelled", "Done", "In Progress", "Todo"]), "states", stateNames);
  check(ctx.states.find((s) => s.name === "Todo")?.is_default === true, "Todo is the default", ctx.states);
  const labelNames = new Set(ctx.labels.map((l) => l.name));
  check(["bug", "feature", "docs", "chore"].every((l) => labelNames.has(l)), "labels", [...labelNames]);
  const alice = ctx.members.find((m) => m.email === "alice@example.com");
  const bob = ctx.members.find((m) => m.email === "bob@example.com");
  check(alice && bob, "members alice and bob", ctx.members);
  const doneId = ctx.states.find((s) => s.name === "Done").id;
  const featureId = ctx.labels.find((l) => l.name === "feature").id;

  // --- create (and the idempotent replay)
  const title = `TypeScript SDK card ${runId}`;
  const createArgs = {
    project: "WEB",
    title,
    state: "Backlog",
    labels: ["docs"],
    assignees: ["bob@example.com"],
    blocks: { acceptance: [{ text: "every tool called", checked: false }] },
    idempotency_key: key("create"),
  };
  const created = await call(client, "create_issue", createArgs);
  const cardKey = created.key;
  check(cardKey.startsWith("WEB-") && UUID.test(created.id ?? ""), "created card: key and id", created);
  check(created.state === "Backlog", "created in Backlog", created);
  check(typeof created.block_versions?.acceptance === "string", "the written block's version", created);
  const again = await call(client, "create_issue", createArgs);
  check(JSON.stringify(again) === JSON.stringify(created), "same idempotency_key, same answer", again);
  const issue = await call(client, "get_issue", { issue: cardKey });
  check(issue.title === title && issue.id === created.id, "the card reads back", issue);
  check(issue.labels.map((l) => l.name).join() === "docs", "created with label docs", issue.labels);
  check(issue.assignees.map((a) => a.user_id).join() === bob.user_id, "created assigned to Bob", issue.assignees);
  summary.issue = cardKey;
  const read = () => call(client, "get_issue", { issue: cardKey });

  // --- every write tool: a brief answer, then the card read back
  const upd = await call(client, "update_issue", { issue: issue.id, title: `${title} (updated)`, priority: "urgent", start_date: "2030-01-02", idempotency_key: key("update") });
  check(upd.key === cardKey, "update_issue answers the card", upd);
  let card = await read();
  check(card.title === `${title} (updated)` && card.priority === "urgent" && card.start_date === "2030-01-02", "update_issue", card);
  await call(client, "update_issue", { issue: cardKey, start_date: null, idempotency_key: key("update-2") });
  card = await read();
  check(card.start_date == null && card.priority === "urgent", "start_date cleared, priority kept", card);

  const moved = await call(client, "move_issue", { issue: cardKey, state: "In Progress", idempotency_key: key("move") });
  check(moved.state === "In Progress", "moved to In Progress", moved);

  const body = `Comment from the TypeScript SDK ${runId}`;
  const written = await call(client, "add_comment", { issue: cardKey, body, idempotency_key: key("comment") });
  check(UUID.test(written.comment_id ?? "") && written.key === cardKey, "add_comment", written);

  await call(client, "set_issue_labels", { issue: cardKey, add: ["bug", featureId], remove: ["docs"], idempotency_key: key("labels") });
  await call(client, "assign_issue", { issue: cardKey, add: ["alice@example.com"], remove: ["bob@example.com"], idempotency_key: key("assign") });
  card = await read();
  check(card.state.group === "started", "In Progress is started", card.state);
  check(card.recent_comments.some((c) => c.id === written.comment_id && c.body === body), "the comment on the card", card.recent_comments);
  check(card.labels.map((l) => l.name).sort().join() === "bug,feature", "labels bug+feature, docs removed", card.labels);
  check(card.assignees.map((a) => a.user_id).join() === alice.user_id, "assigned to Alice instead of Bob", card.assignees);

  const plan1 = "1. connect with the TypeScript SDK\n2. call every tool";
  const b1 = await call(client, "update_structured_blocks", { issue: cardKey, ops: [{ op: "replace", block: "plan", text: plan1 }], idempotency_key: key("plan-1") });
  check(Object.keys(b1.block_versions ?? {}).join() === "plan", "the plan's new version", b1);
  const entry = `ts client ran ${runId}`;
  const b2 = await call(client, "update_structured_blocks", {
    issue: cardKey,
    ops: [{ op: "append_log", entry }, { op: "check_item", item: "every tool called", checked: true }],
    idempotency_key: key("log-1"),
  });
  check(Object.keys(b2.block_versions ?? {}).sort().join() === "acceptance,log", "the log's and acceptance's new versions", b2);

  const got = await read();
  check(got.key === cardKey && got.state.name === "In Progress" && got.blocks.plan === plan1, "get_issue", got);
  check((got.blocks.log ?? []).some((e) => e.includes(entry)), "log appended", got.blocks);
  check(got.blocks.acceptance?.[0]?.checked === true, "acceptance item ticked", got.blocks);
  const version = got.block_versions.plan;
  check(version === b1.block_versions.plan, "plan version", got.block_versions);
  const plan2 = `${plan1}\n3. replace with base_version`;
  const b3 = await call(client, "update_structured_blocks", { issue: cardKey, ops: [{ op: "replace", block: "plan", text: plan2, base_version: version }], idempotency_key: key("plan-2") });
  check(b3.block_versions.plan !== version, "plan version changed", b3);
  check((await read()).blocks.plan === plan2, "plan replaced with base_version", b3);
  const conflict = await call(client, "update_structured_blocks", { issue: cardKey, ops: [{ op: "replace", block: "plan", text: "stale", base_version: version }], idempotency_key: key("plan-3") }, { expectError: true });
  check(conflict.includes("conflict"), "stale base_version is a conflict", conflict);

  const done = await call(client, "move_issue", { issue: cardKey, state: doneId, idempotency_key: key("move-2") });
  check(done.state === "Done", "moved to Done by state id", done);
  check((await read()).state.group === "completed", "Done is completed", done);

  const found = await call(client, "search_issues", { project: "WEB", query: runId });
  check(found.issues.map((i) => i.key).join() === cardKey, "search by text", found);
  const byState = await call(client, "search_issues", { project: "WEB", state: "Done", label: "feature", assignee: alice.user_id, limit: 100 });
  check(byState.issues.some((i) => i.key === cardKey && i.state.name === "Done"), "search by state, label, assignee", byState);

  // --- a work session (reporting mode): started on WEB-1 (named by its id), progress on
  // WEB-2, finished done
  const web1 = await call(client, "get_issue", { issue: "WEB-1" });
  check(web1.key === "WEB-1" && UUID.test(web1.id ?? ""), "WEB-1 and its id", web1);
  const goal = `TypeScript SDK work session ${runId}`;
  const started = await call(client, "start_work_session", { goal, card: web1.id, idempotency_key: key("session-start") });
  const workSession = started.id;
  check(UUID.test(workSession ?? ""), "start_work_session: a session id", started);
  check(started.state === "active" && started.goal === goal, "session active with its goal", started);
  check(started.card === "WEB-1", "session on WEB-1, by key although named by id", started);
  check(started.outcome == null && started.last_status == null, "session not ended", started);
  const status = `reviewing WEB-2 for ${runId}`;
  const progress = await call(client, "report_progress", { session: workSession, card: "WEB-2", status, idempotency_key: key("session-progress") });
  check(progress.id === workSession && progress.state === "active", "progress on the same session", progress);
  check(progress.card === "WEB-2" && progress.last_status === status, "session now on WEB-2", progress);
  const summaryText = `TypeScript SDK run ${runId}: every tool called`;
  const finished = await call(client, "finish_work_session", { session: workSession, outcome: "done", summary: summaryText, idempotency_key: key("session-finish") });
  check(finished.id === workSession && finished.state === "finished", "session finished", finished);
  check(finished.outcome === "done" && finished.summary === summaryText, "outcome done, summary", finished);
  check(finished.card === "WEB-2", "ended on WEB-2", finished);
  const twice = await call(client, "finish_work_session", { session: workSession, outcome: "blocked", summary: "again", idempotency_key: key("session-finish-2") }, { expectError: true });
  check(twice.startsWith("Error (work_session_ended)"), "a finished session cannot be finished again", twice);
  summary.work_session = workSession;

  // --- what the agent cannot do
  const bad = await call(client, "move_issue", { issue: cardKey, state: "Nowhere", idempotency_key: key("move-bad") }, { expectError: true });
  check(bad.length > 0, "unknown state refused", bad);
  for (const name of ["delete_issue", "archive_issue"]) {
    try {
      const r = await client.callTool({ name, arguments: { issue: cardKey, idempotency_key: key(name) } });
      check(r.isError === true, `${name} must not succeed`, r);
    } catch (e) {
      check(e instanceof McpError && /Unknown tool/.test(e.message), `${name}: unknown tool`, String(e));
    }
  }
  try {
    const r = await client.callTool({ name: "add_project_member", arguments: { project: "WEB", user: "bob@example.com", idempotency_key: key("member") } });
    check(r.isError === true, "add_project_member must not succeed", r);
  } catch (e) {
    check(e instanceof McpError, "add_project_member refused", String(e));
  }

  const missing = EXPECTED_TOOLS.filter((t) => !called.has(t));
  check(missing.length === 0, "every listed tool was called", missing);
  summary.calls = [...called.values()].reduce((a, b) => a + b, 0);
  summary.rate_limited_retries = rateLimitedRetries;

  // --- end the session (DELETE); its id is then refused
  const sid = transport.sessionId;
  await transport.terminateSession();
  check(transport.sessionId === undefined, "session ended");
  const res = await fetch(url, {
    method: "POST",
    headers: {
      Authorization: `Bearer ${token}`,
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      "Mcp-Session-Id": sid,
      "MCP-Protocol-Version": summary.protocol_version,
    },
    body: JSON.stringify({ jsonrpc: "2.0", id: 99, method: "tools/list" }),
  });
  check(res.status === 404, "an ended session is 404", res.status);
  await client.close();

  // --- the older protocol versions, asked for by the same SDK (its initialize request
  // rewritten on the way out): 2025-06-18 has structuredContent and output schemas,
  // 2025-03-26 neither (the data comes as JSON in the text block).
  summary.older_versions = {};
  for (const version of ["2025-06-18", "2025-03-26"]) {
    const askFor = async (input, init) => {
      if (typeof init?.body === "string" && init.body.includes('"method":"initialize"')) {
        const msg = JSON.parse(init.body);
        msg.params.protocolVersion = version;
        init = { ...init, body: JSON.stringify(msg) };
      }
      return fetch(input, init);
    };
    const t = new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: askFor,
    });
    const c = new Client({ name: `nodedc-e2e-ts-${version}`, version: "1.0.0" });
    await c.connect(t);
    check(t.protocolVersion === version, `negotiated ${version}`, t.protocolVersion);
    const listed = (await c.listTools()).tools;
    check(listed.length === EXPECTED_TOOLS.length, `${version}: tool count`, listed.length);
    const modern = version >= "2025-06-18";
    check(listed.every((x) => (x.outputSchema !== undefined) === modern), `${version}: output schemas iff 2025-06-18+`, listed[0]);
    called.set("get_issue", (called.get("get_issue") ?? 0) + 1);
    const r = await c.callTool({ name: "get_issue", arguments: { issue: cardKey } });
    check(!r.isError && r.content?.[0]?.type === "text", `${version}: get_issue`, r);
    if (modern) {
      check(r.structuredContent?.key === cardKey && r.structuredContent.state.name === "Done", `${version}: structuredContent`, r);
    } else {
      check(r.structuredContent === undefined, `${version}: no structuredContent`, r);
      const json = JSON.parse(r.content[0].text.slice(r.content[0].text.lastIndexOf("\n\n{") + 2));
      check(json.key === cardKey && json.state.name === "Done", `${version}: the card as JSON in the text`, r.content[0].text);
    }
    await t.terminateSession();
    await c.close();
    summary.older_versions[version] = "ok";
  }
  return summary;
}

const [url, token] = process.argv.slice(2);
if (!url || !token) {
  console.error("usage: node ts_client.mjs URL TOKEN");
  process.exit(2);
}
const base = { client: "typescript", sdk: "@modelcontextprotocol/sdk", sdk_version: SDK_VERSION, node: process.version };
const timer = setTimeout(() => {
  console.error("ts_client: FAILED: timed out after 120 s");
  console.log(JSON.stringify({ ...base, ok: false, error: "timeout" }));
  process.exit(1);
}, 120_000);
try {
  const summary = await scenario(url, token);
  clearTimeout(timer);
  console.log(JSON.stringify({ ...base, ok: true, ...summary, checks }));
  process.exit(0);
} catch (e) {
  clearTimeout(timer);
  console.error(e?.stack ?? e);
  console.error(`ts_client: FAILED: ${e?.message ?? e}`);
  console.log(JSON.stringify({ ...base, ok: false, error: String(e?.message ?? e) }));
  process.exit(1);
}
