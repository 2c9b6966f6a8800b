//! Which era a message belongs to, and the checks a 2026-07-28 request passes before
//! it is served: its per-request `_meta` envelope and the standard headers that mirror
//! the body (SEP-2575, SEP-2243). Pure functions over the parsed body and the header
//! values; the route (`http/routes/mcp.rs`) calls them.
//!
//! The era is read from the body first (as the reference TypeScript SDK does): a
//! request whose `params._meta` carries `io.modelcontextprotocol/protocolVersion` is a
//! 2026-07-28 ("modern") request whatever its headers say; `initialize` without such a
//! claim opens a legacy session; anything else without a claim is legacy traffic,
//! unless its `MCP-Protocol-Version` header names a modern version, which then lacks
//! its envelope.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::fault::Fault;

pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";

/// The log levels a client may name (`logging/setLevel` and `_meta` logLevel).
pub const LOG_LEVELS: &[&str] = &["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"];

/// The values of the request headers the checks read (trimmed; `None` when absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct Headers<'a> {
    /// `MCP-Protocol-Version`.
    pub version: Option<&'a str>,
    /// `Mcp-Method`.
    pub method: Option<&'a str>,
    /// `Mcp-Name`.
    pub name: Option<&'a str>,
}

/// Where a message goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// A legacy session's traffic (`initialize`, or a request without an envelope).
    Legacy,
    /// A 2026-07-28-style message naming this version (supported or not: the route
    /// answers an unsupported one with `UnsupportedProtocolVersion`).
    Modern { version: String },
}

/// Modern revisions are dated 2026-07-28 or later (revision ids sort as dates).
pub fn is_modern(version: &str) -> bool {
    version >= super::FIRST_MODERN_VERSION
}

fn meta_of(params: &Value) -> Option<&Map<String, Value>> {
    params.get("_meta").and_then(Value::as_object)
}

/// A valid envelope naming a modern version: only that makes `initialize` a modern
/// request (which the modern era then does not have).
fn valid_modern_claim(params: &Value) -> bool {
    meta_of(params).is_some_and(|m| {
        m.get(PROTOCOL_VERSION_KEY).and_then(Value::as_str).is_some_and(is_modern) && validate(m).is_ok()
    })
}

fn invalid(key: &str, problem: &str) -> Fault {
    let message = if problem == "missing" {
        format!("Invalid params: _meta is missing {key}, required on every 2026-07-28 request")
    } else {
        format!("Invalid params: _meta {key} {problem}")
    };
    Fault::InvalidEnvelope { message, envelope: json!({ "key": key, "problem": problem }) }
}

/// Checks a request's envelope: the protocol version (a string) and the client's
/// capabilities (an object) are required; the client's info, when sent, has a string
/// `name` and `version`; a log level, when sent, is a valid level.
pub fn validate(meta: &Map<String, Value>) -> Result<(), Fault> {
    match meta.get(PROTOCOL_VERSION_KEY) {
        None => return Err(invalid(PROTOCOL_VERSION_KEY, "missing")),
        Some(Value::String(_)) => {}
        Some(_) => return Err(invalid(PROTOCOL_VERSION_KEY, "must be a string")),
    }
    match meta.get(CLIENT_CAPABILITIES_KEY) {
        None => return Err(invalid(CLIENT_CAPABILITIES_KEY, "missing")),
        Some(Value::Object(_)) => {}
        Some(_) => return Err(invalid(CLIENT_CAPABILITIES_KEY, "must be an object")),
    }
    if let Some(info) = meta.get(CLIENT_INFO_KEY) {
        let named = |k: &str| info.get(k).is_some_and(Value::is_string);
        if !info.is_object() || !named("name") || !named("version") {
            return Err(invalid(CLIENT_INFO_KEY, "must be an object with a string name and version"));
        }
    }
    if let Some(level) = meta.get(LOG_LEVEL_KEY)
        && !level.as_str().is_some_and(|l| LOG_LEVELS.contains(&l))
    {
        return Err(invalid(
            LOG_LEVEL_KEY,
            "must be one of debug, info, notice, warning, error, critical, alert, emergency",
        ));
    }
    Ok(())
}

fn mismatch(header_name: &str, header: &str, body: &str) -> Fault {
    Fault::HeaderMismatch {
        message: format!("Header mismatch: {header_name} `{header}` does not match the body's `{body}`"),
        header: header.into(),
        body: body.into(),
    }
}

fn missing(header_name: &str, body: &str) -> Fault {
    Fault::HeaderMismatch {
        message: format!("Header mismatch: the required {header_name} header is missing (the body has `{body}`)"),
        header: "(missing)".into(),
        body: body.into(),
    }
}

/// The era of a message with a string `method`; `is_request` when it has an `id`. A
/// message claims the per-request envelope when its `_meta` holds the protocol-version
/// key (whatever its value: a bad one is then an invalid envelope, never legacy).
pub fn classify(method: &str, is_request: bool, params: &Value, h: &Headers) -> Result<Route, Fault> {
    let header_modern = h.version.is_some_and(is_modern);
    if method == "initialize" && !valid_modern_claim(params) {
        // The legacy handshake; a modern version header on it contradicts the body.
        if let Some(header) = h.version.filter(|_| header_modern) {
            return Err(mismatch("MCP-Protocol-Version", header, "initialize (the legacy handshake)"));
        }
        return Ok(Route::Legacy);
    }
    if let Some(meta) = meta_of(params).filter(|m| m.contains_key(PROTOCOL_VERSION_KEY)) {
        if is_request {
            validate(meta)?;
        }
        let Some(version) = meta.get(PROTOCOL_VERSION_KEY).and_then(Value::as_str) else {
            return Err(invalid(PROTOCOL_VERSION_KEY, "must be a string"));
        };
        if let Some(header) = h.version
            && header != version
        {
            return Err(mismatch("MCP-Protocol-Version", header, version));
        }
        if let Some(header) = h.method
            && header != method
        {
            return Err(mismatch("Mcp-Method", header, method));
        }
        return Ok(Route::Modern { version: version.into() });
    }
    if let Some(header) = h.version.filter(|_| header_modern) {
        if !is_request {
            // A notification carries no envelope of its own: the header decides.
            if let Some(m) = h.method
                && m != method
            {
                return Err(mismatch("Mcp-Method", m, method));
            }
            return Ok(Route::Modern { version: header.into() });
        }
        let missing_keys: Vec<&str> = match meta_of(params) {
            None => vec!["_meta"],
            Some(meta) => {
                [PROTOCOL_VERSION_KEY, CLIENT_CAPABILITIES_KEY].into_iter().filter(|k| !meta.contains_key(*k)).collect()
            }
        };
        return Err(Fault::InvalidEnvelope {
            message: format!(
                "Invalid params: MCP-Protocol-Version names {header}, but the request is missing {}",
                missing_keys.join(", ")
            ),
            envelope: json!({ "missing": missing_keys }),
        });
    }
    Ok(Route::Legacy)
}

/// The body field `Mcp-Name` mirrors for a method, if any.
fn name_source(method: &str) -> Option<&'static str> {
    match method {
        "tools/call" | "prompts/get" => Some("name"),
        "resources/read" => Some("uri"),
        _ => None,
    }
}

/// A header value in the Base64 sentinel form `=?base64?…?=`, decoded (strict
/// padding and alphabet); other values as they are.
pub fn decode_header_value(value: &str) -> Option<String> {
    match value.strip_prefix("=?base64?").and_then(|v| v.strip_suffix("?=")) {
        Some(encoded) => STANDARD.decode(encoded).ok().and_then(|b| String::from_utf8(b).ok()),
        None => Some(value.to_string()),
    }
}

/// The standard headers every 2026-07-28 request carries: `MCP-Protocol-Version`,
/// `Mcp-Method`, and `Mcp-Name` where the body has the name it mirrors (a tool or
/// prompt name, a resource URI), decoded and equal to it. (Mismatched versions and
/// methods were answered by [`classify`].)
pub fn check_standard_headers(method: &str, params: &Value, h: &Headers, version: &str) -> Result<(), Fault> {
    if h.version.is_none() {
        return Err(missing("MCP-Protocol-Version", version));
    }
    if h.method.is_none() {
        return Err(missing("Mcp-Method", method));
    }
    let Some(field) = name_source(method) else { return Ok(()) };
    let Some(body) = params.get(field).and_then(Value::as_str) else { return Ok(()) };
    let Some(header) = h.name else { return Err(missing("Mcp-Name", body)) };
    match decode_header_value(header) {
        None => Err(Fault::HeaderMismatch {
            message: "Header mismatch: Mcp-Name holds an invalid Base64 sentinel value".into(),
            header: header.into(),
            body: body.into(),
        }),
        Some(decoded) if decoded != body => Err(mismatch("Mcp-Name", &decoded, body)),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(version: &str) -> Value {
        json!({"_meta": {PROTOCOL_VERSION_KEY: version, CLIENT_CAPABILITIES_KEY: {}}})
    }

    #[test]
    fn the_body_decides_the_era() {
        let none = Headers::default();
        assert_eq!(classify("tools/list", true, &json!({}), &none), Ok(Route::Legacy));
        assert_eq!(classify("initialize", true, &json!({"protocolVersion": "2025-11-25"}), &none), Ok(Route::Legacy));
        let modern = Route::Modern { version: "2026-07-28".into() };
        assert_eq!(classify("tools/list", true, &meta("2026-07-28"), &none), Ok(modern.clone()));
        // initialize with a valid modern envelope is a modern request (and not a method there).
        assert_eq!(classify("initialize", true, &meta("2026-07-28"), &none), Ok(modern));
        // An envelope naming a legacy or unknown version is still a modern-path request.
        assert_eq!(
            classify("tools/list", true, &meta("1900-01-01"), &none),
            Ok(Route::Modern { version: "1900-01-01".into() })
        );
    }

    #[test]
    fn envelopes_are_checked() {
        let h = Headers { version: Some("2026-07-28"), ..Default::default() };
        for params in [json!({}), json!({"_meta": {}}), json!({"_meta": {CLIENT_CAPABILITIES_KEY: {}}})] {
            let e = classify("server/discover", true, &params, &h).unwrap_err();
            assert!(matches!(e, Fault::InvalidEnvelope { .. }), "{params}: {e:?}");
        }
        let no_caps = json!({"_meta": {PROTOCOL_VERSION_KEY: "2026-07-28"}});
        assert!(matches!(classify("tools/list", true, &no_caps, &h), Err(Fault::InvalidEnvelope { .. })));
        let bad_info =
            json!({"_meta": {PROTOCOL_VERSION_KEY: "2026-07-28", CLIENT_CAPABILITIES_KEY: {}, CLIENT_INFO_KEY: "x"}});
        assert!(matches!(classify("tools/list", true, &bad_info, &h), Err(Fault::InvalidEnvelope { .. })));
        let bad_level =
            json!({"_meta": {PROTOCOL_VERSION_KEY: "2026-07-28", CLIENT_CAPABILITIES_KEY: {}, LOG_LEVEL_KEY: "loud"}});
        assert!(matches!(classify("tools/list", true, &bad_level, &h), Err(Fault::InvalidEnvelope { .. })));
        let non_string = json!({"_meta": {PROTOCOL_VERSION_KEY: 7, CLIENT_CAPABILITIES_KEY: {}}});
        assert!(matches!(classify("tools/list", true, &non_string, &h), Err(Fault::InvalidEnvelope { .. })));
        // Without a modern header, a request without an envelope is legacy traffic.
        assert_eq!(classify("tools/list", true, &json!({}), &Headers::default()), Ok(Route::Legacy));
    }

    #[test]
    fn headers_must_match_the_body() {
        let h = Headers { version: Some("2026-07-28"), method: Some("prompts/list"), name: None };
        assert!(matches!(classify("tools/list", true, &meta("2026-07-28"), &h), Err(Fault::HeaderMismatch { .. })));
        let h = Headers { version: Some("2026-07-28"), ..Default::default() };
        assert!(matches!(classify("tools/list", true, &meta("v999"), &h), Err(Fault::HeaderMismatch { .. })));
        let h = Headers { version: Some("2026-07-28"), method: Some("TOOLS/LIST"), name: None };
        assert!(matches!(classify("tools/list", true, &meta("2026-07-28"), &h), Err(Fault::HeaderMismatch { .. })));
        let initialize = Headers { version: Some("2026-07-28"), ..Default::default() };
        assert!(matches!(classify("initialize", true, &json!({}), &initialize), Err(Fault::HeaderMismatch { .. })));

        let call = json!({"name": "get_issue"});
        let v = "2026-07-28";
        let full = |name| Headers { version: Some(v), method: Some("tools/call"), name };
        assert_eq!(check_standard_headers("tools/call", &call, &full(Some("get_issue")), v), Ok(()));
        assert_eq!(check_standard_headers("tools/call", &call, &full(Some("=?base64?Z2V0X2lzc3Vl?=")), v), Ok(()));
        for bad in [None, Some("list_projects"), Some("=?base64?Z2V0X2lzc3Vl?"), Some("=?base64?Z2V0X2lzc3V?=")] {
            let e = check_standard_headers("tools/call", &call, &full(bad), v);
            assert!(matches!(e, Err(Fault::HeaderMismatch { .. })), "{bad:?}: {e:?}");
        }
        let no_method = Headers { version: Some(v), ..Default::default() };
        assert!(check_standard_headers("tools/list", &json!({}), &no_method, v).is_err());
        let no_version = Headers { method: Some("tools/list"), ..Default::default() };
        assert!(check_standard_headers("tools/list", &json!({}), &no_version, v).is_err());
    }

    #[test]
    fn base64_sentinels_decode_strictly() {
        assert_eq!(decode_header_value("=?base64?SGVsbG8=?=").as_deref(), Some("Hello"));
        assert_eq!(decode_header_value("SGVsbG8=").as_deref(), Some("SGVsbG8="), "no sentinel: literal");
        assert_eq!(decode_header_value("=?base64?SGVsbG8=").as_deref(), Some("=?base64?SGVsbG8="));
        assert_eq!(decode_header_value("=?base64?SGVsbG8?="), None, "bad padding");
        assert_eq!(decode_header_value("=?base64?SGVs!!!bG8=?="), None, "bad alphabet");
    }
}
