//! Metrics (`/metrics`), the W3C trace context passed on to Tasker, span export over
//! OTLP, and the request log line's fields.
//!
//! The metrics recorder is one per process and the tests run in parallel, so counters
//! are compared before and after (at least the calls made here); the sampled gauges
//! are per app, so they are exact.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::mcp::Mcp;
use crate::common::process::{Gateway, command};
use crate::common::{INTERNAL_TOKEN, TestApp};
use nodedc_agent_gateway::actors::rate_buckets::{Budget, RateLimits};
use nodedc_agent_gateway::storage::Backend;
use nodedc_agent_gateway::tasker::contract::ENDPOINTS;

/// The sum of the samples of `name` whose labels include `labels`.
pub fn value(text: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    samples(text, name)
        .iter()
        .filter(|(l, _)| labels.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
        .map(|(_, v)| v)
        .sum()
}

/// Every sample of `name`: its labels and value.
fn samples(text: &str, name: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (series, v) = line.rsplit_once(' ').unwrap_or((line, ""));
        let (metric, labels) = match series.split_once('{') {
            Some((m, rest)) => (m, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if metric != name {
            continue;
        }
        let labels = labels
            .split("\",")
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
            .collect();
        out.push((labels, v.parse().unwrap_or_else(|_| panic!("not a number in `{line}`"))));
    }
    out
}

pub async fn scrape(app: &TestApp) -> String {
    let r = app.send("GET", "/metrics", Some(INTERNAL_TOKEN), None).await;
    assert_eq!(r.status, 200, "{}", r.text);
    let ct = r.headers.get("content-type").unwrap().to_str().unwrap();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    r.text
}

const TOOL_CALLS: &str = "nodedc_gateway_tool_calls_total";

async fn metrics_count_calls_failures_and_tasker_requests(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(&["project:read", "issue:read", "session:report"]).await;

    let before = scrape(&app).await;
    // Behind the internal token only.
    let r = app.send("GET", "/metrics", None, None).await;
    assert_eq!((r.status, r.code()), (401, "missing_token"), "{}", r.text);
    let r = app.send("GET", "/metrics", Some(&f.token), None).await;
    assert_eq!((r.status, r.code()), (401, "invalid_internal_token"), "{}", r.text);
    let ok = [("tool", "list_projects"), ("outcome", "allowed"), ("code", "none")];
    let missing = [("tool", "get_issue"), ("outcome", "failed"), ("code", "not_found")];
    for _ in 0..3 {
        assert_eq!(app.send("GET", "/api/v1/projects", Some(&f.token), None).await.status, 200);
    }
    let r = app.send("GET", "/api/v1/issues/WEB-99999", Some(&f.token), None).await;
    assert_eq!(r.code(), "not_found", "{}", r.text);
    let bad = app.send("GET", "/api/v1/projects", Some("ndcag_not-a-token"), None).await;
    assert_eq!(bad.status, 401);
    let bad_code = bad.code().to_string();
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    m.ok("start_work_session", json!({"goal": "metrics", "idempotency_key": "metrics-ws-1"})).await;
    let after = scrape(&app).await;

    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert!(delta(TOOL_CALLS, &ok) >= 3.0, "{after}");
    assert!(delta(TOOL_CALLS, &missing) >= 1.0, "{after}");
    let histogram = "nodedc_gateway_tool_call_duration_seconds";
    assert!(after.contains(&format!("# TYPE {histogram} histogram")), "{after}");
    assert!(delta(&format!("{histogram}_count"), &[("tool", "list_projects")]) >= 3.0, "{after}");
    assert!(delta(&format!("{histogram}_bucket"), &[("tool", "list_projects"), ("le", "+Inf")]) >= 3.0);
    assert!(value(&after, &format!("{histogram}_sum"), &[("tool", "list_projects")]) > 0.0);
    assert!(delta("nodedc_gateway_auth_failures_total", &[("reason", &bad_code)]) >= 1.0, "{after}");
    assert!(delta("nodedc_gateway_auth_failures_total", &[("reason", "missing_token")]) >= 1.0, "{after}");
    assert!(delta("nodedc_gateway_auth_failures_total", &[("reason", "invalid_internal_token")]) >= 1.0);

    // Tasker requests by route template and status, never a raw path.
    let tasker = "nodedc_gateway_tasker_requests_total";
    assert!(delta(tasker, &[("endpoint", "GET /projects"), ("status", "200")]) >= 3.0, "{after}");
    assert!(delta(tasker, &[("endpoint", "GET /issues/{issue}"), ("status", "404")]) >= 1.0, "{after}");
    let templates: Vec<String> = ENDPOINTS.iter().map(|(v, p)| format!("{} {p}", v.as_str())).collect();
    for (labels, _) in samples(&after, tasker) {
        assert!(templates.contains(&labels["endpoint"]), "not a route template: {labels:?}");
    }
    let duration = "nodedc_gateway_tasker_request_duration_seconds";
    assert!(after.contains(&format!("# TYPE {duration} histogram")), "{after}");
    assert!(delta(&format!("{duration}_count"), &[("endpoint", "GET /projects"), ("status", "200")]) >= 3.0);

    // The gauges are this app's own.
    assert_eq!(value(&after, "nodedc_gateway_mcp_sessions_open", &[]), 1.0, "{after}");
    assert_eq!(value(&after, "nodedc_gateway_work_sessions", &[("state", "active")]), 1.0, "{after}");
    assert_eq!(value(&after, "nodedc_gateway_work_sessions", &[("state", "stale")]), 0.0, "{after}");
    assert_eq!(value(&after, "nodedc_gateway_writer_queue_depth", &[]), 0.0, "{after}");
    assert_eq!(value(&after, "nodedc_gateway_db_pool_connections", &[("state", "max")]), 4.0, "{after}");
    assert!(value(&after, "nodedc_gateway_db_pool_connections", &[("state", "size")]) >= 1.0, "{after}");
    let h = [
        ("Authorization", format!("Bearer {}", f.token)),
        ("Mcp-Session-Id", m.session.clone().unwrap()),
        ("MCP-Protocol-Version", m.version.clone()),
    ];
    let r = app.send_with("DELETE", "/mcp", &h, None).await;
    assert!(r.status < 300, "{} {}", r.status, r.text);
    assert_eq!(value(&scrape(&app).await, "nodedc_gateway_mcp_sessions_open", &[]), 0.0);

    // No secret in any label.
    assert!(!after.contains(&f.token) && !after.contains(INTERNAL_TOKEN) && !after.contains(&f.agent.to_string()));
    app.stop().await;
}

async fn rate_limit_refusals_are_counted(backend: Backend) {
    let rate = RateLimits { read: Budget { per_minute: 1, burst: 2 }, ..RateLimits::default() };
    let app = TestApp::builder(backend).rate(rate).start().await;
    let f = app.web_agent(&["project:read"]).await;
    let before = scrape(&app).await;
    let mut limited = 0;
    for _ in 0..4 {
        let r = app.send("GET", "/api/v1/projects", Some(&f.token), None).await;
        if r.status == 429 {
            assert_eq!(r.code(), "rate_limited");
            limited += 1;
        }
    }
    assert_eq!(limited, 2);
    let after = scrape(&app).await;
    let delta = |name: &str, labels: &[(&str, &str)]| value(&after, name, labels) - value(&before, name, labels);
    assert!(delta("nodedc_gateway_rate_limited_total", &[("kind", "read")]) >= 2.0, "{after}");
    let refused = [("tool", "list_projects"), ("outcome", "denied"), ("code", "rate_limited")];
    assert!(delta(TOOL_CALLS, &refused) >= 2.0, "{after}");
    app.stop().await;
}

const SENT_TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const SENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

/// The gateway's calls to Tasker continue the caller's trace, with their own parent
/// span id; an invalid `traceparent` is ignored (a new trace), never refused.
async fn traceparent_reaches_the_reference_tasker(backend: Backend) {
    let app = TestApp::start(backend).await;
    let f = app.web_agent(&["project:read", "issue:read"]).await;
    let mut m = Mcp::connect(&app, &f.token, "2025-06-18").await;
    m.next_id += 1;
    let call = json!({"jsonrpc": "2.0", "id": m.next_id, "method": "tools/call",
        "params": {"name": "get_issue", "arguments": {"issue": "WEB-1"}}});
    let h = [
        ("Authorization", format!("Bearer {}", f.token)),
        ("Accept", "application/json, text/event-stream".to_string()),
        ("Mcp-Session-Id", m.session.clone().unwrap()),
        ("MCP-Protocol-Version", m.version.clone()),
        ("traceparent", SENT.to_string()),
    ];
    let r = app.send_with("POST", "/mcp", &h, Some(call.clone())).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["result"]["isError"], false, "{}", r.text);
    let request_id = r.headers.get("x-request-id").unwrap().to_str().unwrap().to_string();
    let seen: Vec<_> = app.tasker.requests.recent().into_iter().filter(|l| l.request_id == request_id).collect();
    assert!(!seen.is_empty(), "Tasker saw no request of {request_id}");
    for l in &seen {
        let t = l.traceparent.as_deref().unwrap_or_else(|| panic!("no traceparent: {l:?}"));
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!((parts[0], parts[1], parts[3]), ("00", SENT_TRACE, "01"), "{t}");
        assert_ne!(parts[2], "00f067aa0ba902b7", "a new parent span id: {t}");
    }

    // Invalid: answered as usual, and Tasker gets a new trace.
    let mut h = h.to_vec();
    h.last_mut().unwrap().1 = "00-XYZ-nonsense-01".to_string();
    let r = app.send_with("POST", "/mcp", &h, Some(call)).await;
    assert_eq!((r.status, &r.body["result"]["isError"]), (200, &json!(false)), "{}", r.text);
    let request_id = r.headers.get("x-request-id").unwrap().to_str().unwrap().to_string();
    let seen: Vec<_> = app.tasker.requests.recent().into_iter().filter(|l| l.request_id == request_id).collect();
    assert!(!seen.is_empty());
    for l in &seen {
        let t = l.traceparent.as_deref().expect("a traceparent");
        assert!(!t.contains(SENT_TRACE) && t.len() == 55, "{t}");
    }
    app.stop().await;
}

on_both_backends!(
    metrics_count_calls_failures_and_tasker_requests,
    rate_limit_refusals_are_counted,
    traceparent_reaches_the_reference_tasker
);

/// What the collector received: (path, body) per request.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A minimal OTLP/HTTP collector: records each request's path and body, answers 200.
fn collector() -> (String, Received) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink = got.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let sink = sink.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                loop {
                    let mut first = String::new();
                    if reader.read_line(&mut first).unwrap_or(0) == 0 {
                        return;
                    }
                    let path = first.split_whitespace().nth(1).unwrap_or_default().to_string();
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        reader.read_line(&mut line).unwrap();
                        if line.trim().is_empty() {
                            break;
                        }
                        if let Some((k, v)) = line.split_once(':')
                            && k.eq_ignore_ascii_case("content-length")
                        {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    sink.lock().unwrap().push((path, body));
                    let answer = "HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\n\r\n";
                    stream.write_all(answer.as_bytes()).unwrap();
                }
            });
        }
    });
    (url, got)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect()
}

/// The real binary with `OTEL_EXPORTER_OTLP_ENDPOINT` and `METRICS_BIND`: spans reach
/// the collector (the caller's trace, and the span whose id Tasker was sent), the
/// reference Tasker's log line shows the `traceparent`, `/metrics` answers without a
/// token on the metrics address, and the request log line names the MCP method, the
/// tool, the outcome, the error code and the owner.
#[actix_web::test]
async fn the_binary_exports_spans_and_serves_metrics_on_its_own_address() {
    let (collector_url, exported) = collector();
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("gw.db").display());
    let mut setup = command(dir.path());
    setup.args(["demo-setup", "--database-url", &db]);
    let (code, out, err) = crate::common::process::run(setup);
    assert_eq!(code, 0, "{out}{err}");
    let token = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("export NODEDC_AGENT_TOKEN_DEMO_AGENT="))
        .expect("a token")
        .trim_matches(['"', '\''])
        .to_string();

    let mut cmd = command(dir.path());
    cmd.args(["serve", "--bind", "127.0.0.1:0", "--reference-tasker-bind", "127.0.0.1:0", "--database-url", &db])
        .args(["--metrics-bind", "127.0.0.1:0", "--log-format", "json"])
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &collector_url)
        .env_remove("OTEL_SERVICE_NAME");
    let mut gw = Gateway::start(cmd);
    let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
    let post = |body: Value, session: Option<&str>| {
        let mut req = client
            .post(gw.url("/mcp"))
            .insert_header(("Authorization", format!("Bearer {token}")))
            .insert_header(("Accept", "application/json, text/event-stream"))
            .insert_header(("traceparent", SENT));
        if let Some(s) = session {
            req = req
                .insert_header(("Mcp-Session-Id", s.to_string()))
                .insert_header(("MCP-Protocol-Version", "2025-06-18"));
        }
        req.send_json(&body)
    };
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}});
    let res = post(init, None).await.unwrap();
    assert_eq!(res.status(), 200);
    let session = res.headers().get("mcp-session-id").unwrap().to_str().unwrap().to_string();
    let res = post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), Some(&session)).await.unwrap();
    assert_eq!(res.status(), 202);
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
        "params": {"name": "get_issue", "arguments": {"issue": "WEB-99999"}}});
    let mut res = post(call, Some(&session)).await.unwrap();
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(body["result"]["isError"], true, "{body}");
    let unknown = json!({"jsonrpc": "2.0", "id": 3, "method": "tools/unknown", "params": {}});
    let mut res = post(unknown, Some(&session)).await.unwrap();
    let body: Value = serde_json::from_slice(&res.body().await.unwrap()).unwrap();
    assert_eq!(body["error"]["code"], -32601, "{body}");

    // The metrics address, from the log: no token needed there.
    let output = gw.output();
    let metrics_addr = output
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find_map(|v| v["metrics_address"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no metrics address:\n{output}"));
    let mut res = client.get(format!("http://{metrics_addr}/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let text = String::from_utf8(res.body().await.unwrap().to_vec()).unwrap();
    assert_eq!(
        value(&text, TOOL_CALLS, &[("tool", "get_issue"), ("outcome", "failed"), ("code", "not_found")]),
        1.0,
        "{text}"
    );
    assert_eq!(value(&text, "nodedc_gateway_mcp_sessions_open", &[]), 1.0, "{text}");
    let mut res = client.get(gw.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401, "{:?}", res.body().await);

    assert!(gw.terminate().success());
    let output = gw.output();
    let lines: Vec<Value> = output.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();

    // The request log line of the tool call.
    let logged = lines
        .iter()
        .find(|v| v["target"] == "http" && v["tool"] == "get_issue")
        .unwrap_or_else(|| panic!("no request line for the tool call:\n{output}"));
    assert_eq!(logged["mcp_method"], "tools/call", "{logged}");
    assert_eq!(logged["outcome"], "failed", "{logged}");
    assert_eq!(logged["error_code"], "not_found", "{logged}");
    assert_eq!(logged["owner"], "7a5c0001-0000-4000-8000-0000000a11ce", "{logged}");
    assert_eq!(logged["trace_id"], SENT_TRACE, "{logged}");
    let request_id = logged["request_id"].as_str().unwrap();
    let fault = lines
        .iter()
        .find(|v| v["target"] == "http" && v["mcp_method"] == "tools/unknown")
        .unwrap_or_else(|| panic!("no request line for the unknown method:\n{output}"));
    assert_eq!((&fault["error_code"], &fault["tool"]), (&json!("method_not_found"), &json!("-")), "{fault}");

    // The reference Tasker's log line carries the trace, with the exported span's id.
    let tasker_line = lines
        .iter()
        .find(|v| v["target"] == "reference_tasker" && v["request_id"] == request_id)
        .unwrap_or_else(|| panic!("Tasker logged no request of {request_id}:\n{output}"));
    let tp = tasker_line["traceparent"].as_str().unwrap();
    assert!(tp.starts_with(&format!("00-{SENT_TRACE}-")) && !tp.contains("00f067aa0ba902b7"), "{tp}");
    let span_id = &tp[36..52];

    let exported = exported.lock().unwrap();
    let traces: Vec<&Vec<u8>> = exported.iter().filter(|(p, _)| p == "/v1/traces").map(|(_, b)| b).collect();
    assert!(!traces.is_empty(), "nothing exported: {:?}", exported.iter().map(|(p, _)| p).collect::<Vec<_>>());
    let all: Vec<u8> = traces.into_iter().flatten().copied().collect();
    let has = |needle: &[u8]| all.windows(needle.len()).any(|w| w == needle);
    assert!(has(&hex_bytes(SENT_TRACE)), "the caller's trace id is exported");
    assert!(has(&hex_bytes(span_id)), "the span Tasker was told of is exported");
    assert!(has(b"nodedc-agent-gateway"), "the service name is exported");
    assert!(!has(token.as_bytes()), "no token in the spans");
}

/// `METRICS_BIND` is checked with the other settings: an address, loopback in local
/// mode, not `BIND` itself.
#[test]
fn a_bad_metrics_bind_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    for (value, problem) in [
        ("nonsense", "`nonsense` is not an address"),
        ("10.0.0.1:9464", "`10.0.0.1:9464` is not a loopback address"),
        ("127.0.0.1:8787", "`127.0.0.1:8787` is the same address as BIND"),
    ] {
        let mut cmd = command(dir.path());
        cmd.args(["serve", "--metrics-bind", value]);
        let (code, out, err) = crate::common::process::run(cmd);
        assert_eq!(code, 2, "{value}: {out}{err}");
        let line = format!("NODEDC_AGENT_GATEWAY_METRICS_BIND (--metrics-bind): {problem}");
        assert!(err.contains(&line), "{value}: {err}");
    }
}
