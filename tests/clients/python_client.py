#!/usr/bin/env python3
"""End-to-end check of the gateway's MCP endpoint with the official Python SDK (`mcp`).

    python_client.py URL TOKEN [MODE]

URL is the MCP endpoint (http://HOST:PORT/mcp), TOKEN an agent token for the demo
project WEB with the scopes project:read, issue:{read,create,update,move,comment,label,
assign,blocks} and session:report. MODE is the SDK's `Client(mode=...)`:

- `legacy` (the default here): the `initialize` handshake and a session (2025-11-25);
- `2026-07-28`: pinned to the stateless protocol: no handshake, no probe, no session;
  every request carries its `_meta` envelope and the standard headers. The script then
  sends `server/discover` itself, checks it and adopts it (the pinned client otherwise
  knows only a minimal stand-in for the server);
- `auto` (the SDK's default): probes `server/discover` and falls back to `initialize`.

Connects with the SDK's streamable HTTP client, lists the tools, calls every one of
them (a work session included: started on WEB-1, progress on WEB-2, finished `done`)
and checks the structured results (the SDK also validates each `structuredContent`
against the tool's output schema).

Prints one JSON line on stdout at the end: {"ok": true, ...} and exits 0 when every
check passed; otherwise {"ok": false, "error": ...} on stdout, the details on stderr,
and exit 1.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import traceback
import uuid
from importlib.metadata import version as package_version
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import DiscoverResult

PROJECT_ID = "7a5c0002-0000-4000-8000-000000000111"
EXPECTED_TOOLS = {
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
}
READ_TOOLS = {"list_projects", "get_project_context", "search_issues", "get_issue"}


class CheckFailed(Exception):
    pass


def is_uuid(value: Any) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


class Run:
    def __init__(self, client: Client, mode: str) -> None:
        self.client = client
        self.mode = mode
        self.checks = 0
        self.called: dict[str, int] = {}
        self.rate_limited_retries = 0
        self.run_id = uuid.uuid4().hex[:10]

    def check(self, cond: bool, what: str, got: Any = None) -> None:
        self.checks += 1
        if not cond:
            detail = "" if got is None else f"; got: {json.dumps(got, default=str)[:2000]}"
            raise CheckFailed(f"{what}{detail}")

    def key(self, name: str) -> str:
        return f"py-{name}-{self.run_id}"

    async def call(self, name: str, args: dict[str, Any], *, expect_error: bool = False) -> Any:
        """Calls a tool; returns structuredContent (or the error text when expect_error)."""
        self.called[name] = self.called.get(name, 0) + 1
        # A rate-limited write says when to retry ("Retry in N seconds."): do as it says.
        for attempt in range(6):
            result = await self.client.call_tool(name, args)
            texts = [c.text for c in result.content if getattr(c, "type", None) == "text"]
            wait = re.match(r"Error \(rate_limited\).*Retry in (\d+) seconds", texts[0] if texts else "")
            if not (result.is_error and wait and attempt < 5):
                break
            self.rate_limited_retries += 1
            await asyncio.sleep(int(wait.group(1)) + 0.2)
        if expect_error:
            self.check(result.is_error is True, f"{name} should fail with isError", result.model_dump())
            self.check(bool(texts) and texts[0].startswith("Error ("), f"{name}: error text", texts)
            return texts[0]
        self.check(not result.is_error, f"{name} failed: {texts}", args)
        self.check(bool(texts) and texts[0].strip() != "", f"{name}: a text content block", result.model_dump())
        self.check(isinstance(result.structured_content, dict), f"{name}: structuredContent", result.model_dump())
        return result.structured_content


async def scenario(run: Run) -> dict[str, Any]:
    client = run.client
    check = run.check
    summary: dict[str, Any] = {}

    # --- handshake (or discovery) and tool list
    summary["protocol_version"] = client.protocol_version
    if run.mode == "2026-07-28":
        check(client.protocol_version == "2026-07-28", "pinned version", client.protocol_version)
        check(client.session.initialize_result is None, "no initialize handshake on 2026-07-28")
        raw = await client.session.send_discover("2026-07-28")
        d = DiscoverResult.model_validate(raw)
        check(d.result_type == "complete", "discover resultType", raw)
        check(d.supported_versions[:2] == ["2026-07-28", "2025-11-25"], "discover: supported versions", raw)
        check(d.ttl_ms > 0 and d.cache_scope == "public", "discover: caching hints", raw)
        check(d.capabilities.logging is None, "discover: no logging capability", raw)
        client.session.adopt(d)
        summary["discover"] = {"supported_versions": d.supported_versions, "capabilities": sorted(raw["capabilities"])}
    elif run.mode == "auto":
        check(client.protocol_version == "2026-07-28", "auto mode settles on 2026-07-28", client.protocol_version)
    else:
        check(client.protocol_version in ("2025-11-25", "2025-06-18", "2025-03-26"), "negotiated version", client.protocol_version)
    info = client.server_info
    check(info is not None and info.name == "nodedc-agent-gateway", "server name", info and info.model_dump())
    check(client.server_capabilities.tools is not None, "tools capability")
    check("list_projects" in (client.instructions or ""), "instructions mention list_projects", client.instructions)

    tools = (await client.list_tools()).tools
    names = {t.name for t in tools}
    check(names == EXPECTED_TOOLS, "tool set", sorted(names))
    check("add_project_member" not in names, "add_project_member needs a scope the agent lacks")
    check(not any("delete" in n or "archive" in n for n in names), "no delete/archive tool", sorted(names))
    for t in tools:
        check(t.input_schema.get("type") == "object", f"{t.name}: input schema is an object")
        check(t.output_schema is not None, f"{t.name}: has an output schema")
        a = t.annotations
        check(a is not None, f"{t.name}: annotations")
        if t.name in READ_TOOLS:
            check(a.read_only_hint is True, f"{t.name}: readOnlyHint", a.model_dump())
        else:
            check(a.read_only_hint is not True and a.destructive_hint is False, f"{t.name}: not destructive", a.model_dump())
            check("idempotency_key" in t.input_schema.get("required", []), f"{t.name}: idempotency_key required")
    summary["tools"] = len(tools)

    # --- reads
    projects = (await run.call("list_projects", {}))["projects"]
    web = [p for p in projects if p["identifier"] == "WEB"]
    check(len(web) == 1 and web[0]["id"] == PROJECT_ID, "list_projects shows WEB", projects)
    check("issue:blocks" in web[0]["scopes"], "WEB scopes", web[0])

    ctx = await run.call("get_project_context", {"project": "WEB"})
    states = {s["name"]: s for s in ctx["states"]}
    check(set(states) == {"Backlog", "Todo", "In Progress", "Done", "Cancelled"}, "states", list(states))
    check(states["Todo"]["is_default"] is True, "Todo is the default state", states["Todo"])
    check({"bug", "feature", "docs", "chore"} <= {l["name"] for l in ctx["labels"]}, "labels", ctx["labels"])
    members = {m["email"]: m for m in ctx["members"]}
    check({"alice@example.com", "bob@example.com"} <= set(members), "members", list(members))
    alice = members["alice@example.com"]

    # --- create (and the idempotent replay)
    title = f"Python SDK card {run.run_id}"
    create_args = {
        "project": "WEB",
        "title": title,
        "priority": "medium",
        "blocks": {"goal": "Prove the Python MCP SDK works end to end."},
        "idempotency_key": run.key("create"),
    }
    created = await run.call("create_issue", create_args)
    key = created["key"]
    check(key.startswith("WEB-") and is_uuid(created["id"]), "created card: key and id", created)
    check(created["state"] == "Todo", "new card in the default state", created)
    check("goal" in created.get("block_versions", {}), "the written block's version", created)
    again = await run.call("create_issue", create_args)
    check(again == created, "same idempotency_key, same answer", again)
    issue = await run.call("get_issue", {"issue": key})
    check(issue["title"] == title and issue["id"] == created["id"], "the card reads back", issue)
    check(issue["blocks"].get("goal") == create_args["blocks"]["goal"], "goal block", issue["blocks"])
    summary["issue"] = key

    # --- every write tool: a brief answer, then the card read back
    upd = await run.call(
        "update_issue",
        {"issue": key, "title": title + " (updated)", "priority": "high", "target_date": "2030-01-31",
         "idempotency_key": run.key("update")},
    )
    check(upd["key"] == key and upd["id"] == created["id"], "update_issue answers the card", upd)
    card = await run.call("get_issue", {"issue": key})
    check(card["title"] == title + " (updated)" and card["priority"] == "high", "update_issue", card)
    check(card["target_date"] == "2030-01-31", "target date", card)

    moved = await run.call("move_issue", {"issue": key, "state": "In Progress", "idempotency_key": run.key("move")})
    check(moved["state"] == "In Progress", "moved to In Progress", moved)
    card = await run.call("get_issue", {"issue": key})
    check(card["state"]["group"] == "started", "In Progress is started", card["state"])

    body = f"Comment from the Python SDK {run.run_id}"
    written = await run.call("add_comment", {"issue": key, "body": body, "idempotency_key": run.key("comment")})
    check(is_uuid(written["comment_id"]) and written["key"] == key, "comment added", written)

    labelled = await run.call("set_issue_labels", {"issue": key, "add": ["bug"], "idempotency_key": run.key("labels")})
    check(labelled["key"] == key, "labels changed", labelled)
    assigned = await run.call("assign_issue", {"issue": key, "add": ["alice@example.com"], "idempotency_key": run.key("assign")})
    check(assigned["key"] == key, "assignees changed", assigned)
    card = await run.call("get_issue", {"issue": key})
    check([l["name"] for l in card["labels"]] == ["bug"], "label bug", card["labels"])
    check([a["user_id"] for a in card["assignees"]] == [alice["user_id"]], "assigned to Alice", card["assignees"])
    check(any(c["id"] == written["comment_id"] and c["body"] == body for c in card["recent_comments"]), "comment on the card", card["recent_comments"])

    plan1 = "1. connect\n2. call every tool"
    b1 = await run.call(
        "update_structured_blocks",
        {"issue": key, "ops": [{"op": "replace", "block": "plan", "text": plan1}], "idempotency_key": run.key("plan-1")},
    )
    check(set(b1.get("block_versions", {})) == {"plan"}, "the plan's new version", b1)
    entry = f"python client ran {run.run_id}"
    b2 = await run.call(
        "update_structured_blocks",
        {"issue": key, "ops": [{"op": "append_log", "entry": entry}], "idempotency_key": run.key("log-1")},
    )
    check(set(b2.get("block_versions", {})) == {"log"}, "the log's new version", b2)

    got = await run.call("get_issue", {"issue": key})
    check(got["key"] == key and got["state"]["name"] == "In Progress", "get_issue", got)
    check(got["blocks"].get("plan") == plan1 and got["block_versions"]["plan"] == b1["block_versions"]["plan"], "plan and its version", got["block_versions"])
    check(any(entry in e for e in got["blocks"].get("log", [])), "log entry appended", got["blocks"])
    check([l["name"] for l in got["labels"]] == ["bug"], "labels read back", got["labels"])
    check(any(c["body"] == body for c in got["recent_comments"]), "comment read back", got["recent_comments"])
    version = got["block_versions"]["plan"]
    plan2 = "1. connect\n2. call every tool\n3. replace with base_version"
    b3 = await run.call(
        "update_structured_blocks",
        {"issue": key, "ops": [{"op": "replace", "block": "plan", "text": plan2, "base_version": version}],
         "idempotency_key": run.key("plan-2")},
    )
    check(b3["block_versions"].get("plan") not in (None, version), "plan version changed", b3)
    got = await run.call("get_issue", {"issue": key})
    check(got["blocks"].get("plan") == plan2, "plan replaced with base_version", got["blocks"])
    # The version read before is now stale: a conflict, as an isError result.
    conflict = await run.call(
        "update_structured_blocks",
        {"issue": key, "ops": [{"op": "replace", "block": "plan", "text": "stale", "base_version": version}],
         "idempotency_key": run.key("plan-3")},
        expect_error=True,
    )
    check("conflict" in conflict, "stale base_version is a conflict", conflict)

    found = await run.call("search_issues", {"project": "WEB", "query": run.run_id})
    check([i["key"] for i in found["issues"]] == [key], "search by text", found)
    found = await run.call("search_issues", {"project": "WEB", "state": "In Progress", "label": "bug", "assignee": "alice@example.com"})
    check(key in [i["key"] for i in found["issues"]], "search by state, label and assignee", found)
    hit = next(i for i in found["issues"] if i["key"] == key)
    check(hit["state"]["name"] == "In Progress", "search result state", hit)

    # --- a work session (reporting mode): started on WEB-1, progress on WEB-2, finished done
    goal = f"Python SDK work session {run.run_id}"
    start_args = {"goal": goal, "card": "WEB-1", "idempotency_key": run.key("session-start")}
    started = await run.call("start_work_session", start_args)
    sid = started["id"]
    check(is_uuid(sid), "start_work_session: a session id", started)
    check(started["state"] == "active" and started["goal"] == goal, "session active with its goal", started)
    check(started["card"] == "WEB-1", "session on WEB-1", started)
    check(started.get("outcome") is None, "session not ended", started)
    again = await run.call("start_work_session", start_args)
    check(again["id"] == sid, "same idempotency_key, same session", again)
    status = f"reviewing WEB-2 for {run.run_id}"
    progress = await run.call(
        "report_progress",
        {"session": sid, "card": "WEB-2", "status": status, "idempotency_key": run.key("session-progress")},
    )
    check(progress["id"] == sid and progress["state"] == "active", "progress on the same session", progress)
    check(progress["card"] == "WEB-2" and progress["last_status"] == status, "session now on WEB-2", progress)
    summary_text = f"Python SDK run {run.run_id}: every tool called"
    finished = await run.call(
        "finish_work_session",
        {"session": sid, "outcome": "done", "summary": summary_text, "idempotency_key": run.key("session-finish")},
    )
    check(finished["id"] == sid and finished["state"] == "finished", "session finished", finished)
    check(finished["outcome"] == "done" and finished["summary"] == summary_text, "outcome done, summary", finished)
    check(finished["card"] == "WEB-2", "ended on WEB-2", finished)
    ended = await run.call(
        "report_progress",
        {"session": sid, "status": "too late", "idempotency_key": run.key("session-late")},
        expect_error=True,
    )
    check(ended.startswith("Error (work_session_ended)"), "no progress on a finished session", ended)
    summary["work_session"] = sid

    # --- what the agent cannot do
    bad = await run.call("create_issue", {"project": "WEB", "title": "no key"}, expect_error=True)
    check("idempotency_key" in bad, "a write without idempotency_key is refused", bad)
    for name, args in (
        ("delete_issue", {"issue": key, "idempotency_key": run.key("delete")}),
        ("archive_issue", {"issue": key, "idempotency_key": run.key("archive")}),
    ):
        try:
            result = await client.call_tool(name, args)
        except MCPError as e:
            check("Unknown tool" in str(e), f"{name}: unknown tool", str(e))
        else:
            check(result.is_error is True, f"{name} must not succeed", result.model_dump())
    # A tool the agent has no scope for (absent from tools/list) fails too.
    try:
        result = await client.call_tool(
            "add_project_member", {"project": "WEB", "user": "bob@example.com", "idempotency_key": run.key("member")}
        )
    except MCPError as e:
        denied = str(e)
    else:
        check(result.is_error is True, "add_project_member must not succeed", result.model_dump())
        denied = result.content[0].text
    check(denied != "", "add_project_member refused", denied)
    still = await run.call("get_issue", {"issue": key})
    check(still["state"]["name"] == "In Progress", "card still there", still["state"])

    missing = EXPECTED_TOOLS - set(run.called)
    check(not missing, "every listed tool was called", sorted(missing))
    summary["calls"] = sum(run.called.values())
    return summary


async def main(url: str, token: str, mode: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30.0, read=60.0)) as http:
        async with Client(streamable_http_client(url, http_client=http), mode=mode) as client:
            run = Run(client, mode)
            summary = await scenario(run)
            summary["checks"] = run.checks
            summary["rate_limited_retries"] = run.rate_limited_retries
            return summary


def describe(e: BaseException) -> str:
    """The leaf errors of an exception (group), one line."""
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(describe(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


if __name__ == "__main__":
    if len(sys.argv) not in (3, 4):
        print("usage: python_client.py URL TOKEN [legacy|auto|2026-07-28]", file=sys.stderr)
        sys.exit(2)
    mode = sys.argv[3] if len(sys.argv) == 4 else "legacy"
    base = {"client": "python", "sdk": "mcp", "sdk_version": package_version("mcp"), "mode": mode}
    try:
        out = asyncio.run(asyncio.wait_for(main(sys.argv[1], sys.argv[2], mode), timeout=120))
    except BaseException as e:  # noqa: BLE001 - report anything, including ExceptionGroups
        traceback.print_exc(file=sys.stderr)
        msg = describe(e)
        print(f"python_client: FAILED: {msg}", file=sys.stderr)
        print(json.dumps({**base, "ok": False, "error": msg}))
        sys.exit(1)
    print(json.dumps({**base, "ok": True, **out}))
