//! The MCP endpoint's handling of a POSTed body, bytes in, answer out, without I/O
//! (`mcp::message::answer_offline`: parse, era classification, the `_meta` envelope
//! and the standard headers, the faults, `tools/call` parameters, the tool lookup and
//! the pipeline's argument step). Never panics; every fault is a JSON-RPC 2.0 error
//! whose code is one a `Fault` has, answered with that fault's HTTP status; every
//! answer serializes; an answer's id is the request's.
//!
//! Input: optional header lines, then the body. `#v:` MCP-Protocol-Version, `#m:`
//! Mcp-Method, `#n:` Mcp-Name, `#s:` the negotiated version of the legacy session the
//! request names. Without header lines the body is also tried with the headers a
//! conforming client would send (mirroring the body), to reach the deeper checks.
#![no_main]

use std::collections::BTreeSet;

use libfuzzer_sys::fuzz_target;
use nodedc_agent_gateway::mcp::Fault;
use nodedc_agent_gateway::mcp::envelope::{Headers, PROTOCOL_VERSION_KEY};
use nodedc_agent_gateway::mcp::message::{Offline, answer_offline};
use serde_json::Value;

fn known_codes() -> BTreeSet<i64> {
    Fault::examples().iter().map(|(_, f)| i64::from(f.code().0)).collect()
}

fn check(body: &[u8], h: &Headers, session: Option<&str>) {
    match answer_offline(body, h, session) {
        Offline::Accepted => {}
        Offline::Gateway { method, tool } => {
            assert!(!method.is_empty() || tool.is_none());
            if let Some((name, Err(e))) = tool {
                assert!(!name.is_empty());
                assert!(!e.text().is_empty());
            }
        }
        Offline::Reply { status, body: answer } => {
            let text = serde_json::to_string(&answer).expect("the answer serializes");
            let back: Value = serde_json::from_str(&text).expect("and parses back");
            assert_eq!(back["jsonrpc"], "2.0", "{text}");
            let request: Option<Value> = serde_json::from_slice(body).ok();
            if let Some(error) = back.get("error") {
                let code = error["code"].as_i64().expect("an error has a numeric code");
                assert!(known_codes().contains(&code), "unknown error code {code}: {text}");
                assert!(error["message"].is_string(), "{text}");
                assert!(status.is_success() || status.is_client_error(), "{status}: {text}");
            } else {
                assert!(back.get("result").is_some(), "a reply is a result or an error: {text}");
                assert_eq!(status.as_u16(), 200);
                let id = request.as_ref().and_then(|r| r.get("id")).expect("a result answers a request");
                assert_eq!(&back["id"], id, "a result carries the request's id");
            }
            if let (Some(id), Some(req_id)) = (back.get("id"), request.as_ref().and_then(|r| r.get("id")))
                && !id.is_null()
            {
                assert_eq!(id, req_id, "an answer's id is the request's: {text}");
            }
        }
    }
}

fn str_at(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

fuzz_target!(|data: &[u8]| {
    let mut rest = data;
    let mut fields: [Option<String>; 4] = Default::default();
    while let Some(line_end) = rest.strip_prefix(b"#").and_then(|r| r.iter().position(|b| *b == b'\n')) {
        let line = String::from_utf8_lossy(&rest[1..=line_end]).trim().to_string();
        let slot = match line.get(..2) {
            Some("v:") => 0,
            Some("m:") => 1,
            Some("n:") => 2,
            Some("s:") => 3,
            _ => break,
        };
        fields[slot] = Some(line[2..].trim().to_string());
        rest = &rest[line_end + 2..];
    }
    let [version, method, name, session] = &fields;
    let h = Headers { version: version.as_deref(), method: method.as_deref(), name: name.as_deref() };
    check(rest, &h, session.as_deref());
    if fields.iter().all(Option::is_none)
        && let Ok(msg) = serde_json::from_slice::<Value>(rest)
    {
        let params = msg.get("params");
        let mirrored = Headers {
            version: str_at(params.and_then(|p| p.get("_meta")).and_then(|m| m.get(PROTOCOL_VERSION_KEY))),
            method: str_at(msg.get("method")),
            name: str_at(params.and_then(|p| p.get("name").or_else(|| p.get("uri")))),
        };
        check(rest, &mirrored, None);
        check(rest, &Headers::default(), Some("2025-11-25"));
    }
});
