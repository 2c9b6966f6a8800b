//! An MCP client session over the test app's HTTP endpoint.

use serde_json::{Value, json};

use super::{Resp, TestApp};

/// An MCP client session over the app's HTTP endpoint.
pub struct Mcp<'a> {
    pub app: &'a TestApp,
    pub token: String,
    pub session: Option<String>,
    pub version: String,
    pub next_id: u64,
}

impl<'a> Mcp<'a> {
    pub async fn connect(app: &'a TestApp, token: &str, version: &str) -> Mcp<'a> {
        let mut m = Mcp { app, token: token.into(), session: None, version: version.into(), next_id: 1 };
        let r = m
            .post(
                json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": version, "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}}),
                false,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        m.session = Some(r.headers.get("mcp-session-id").expect("session id").to_str().unwrap().to_string());
        m.version = r.body["result"]["protocolVersion"].as_str().unwrap().to_string();
        let n = m.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), true).await;
        assert_eq!(n.status, 202);
        m
    }

    pub async fn post(&self, body: Value, with_version: bool) -> Resp {
        let mut h = vec![
            ("Authorization", format!("Bearer {}", self.token)),
            ("Accept", "application/json, text/event-stream".to_string()),
        ];
        if let Some(s) = &self.session {
            h.push(("Mcp-Session-Id", s.clone()));
        }
        if with_version {
            h.push(("MCP-Protocol-Version", self.version.clone()));
        }
        self.app.send_with("POST", "/mcp", &h, Some(body)).await
    }

    pub async fn request(&mut self, method: &str, params: Value) -> Resp {
        self.next_id += 1;
        self.post(json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}), true).await
    }

    /// A tools/call result (`result` of the JSON-RPC response).
    pub async fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["result"].clone()
    }

    pub async fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_ne!(r["isError"], true, "{tool}: {r}");
        r["structuredContent"].clone()
    }

    pub async fn tool_names(&mut self) -> Vec<String> {
        let r = self.request("tools/list", json!({})).await;
        r.body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect()
    }
}

/// A 2026-07-28 client: no session; every request carries its `_meta` envelope and the
/// standard headers (`MCP-Protocol-Version`, `Mcp-Method`, `Mcp-Name`).
pub struct Stateless<'a> {
    pub app: &'a TestApp,
    pub token: String,
    pub version: String,
    pub next_id: u64,
}

pub const MODERN: &str = "2026-07-28";

/// The envelope every 2026-07-28 request carries.
pub fn envelope(version: &str) -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientInfo": {"name": "test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

impl<'a> Stateless<'a> {
    pub fn new(app: &'a TestApp, token: &str) -> Stateless<'a> {
        Stateless { app, token: token.into(), version: MODERN.into(), next_id: 0 }
    }

    /// The standard headers for `method` (and `Mcp-Name` for `name`), with the token.
    pub fn headers(&self, method: &str, name: Option<&str>) -> Vec<(&'static str, String)> {
        let mut h = vec![
            ("Authorization", format!("Bearer {}", self.token)),
            ("Accept", "application/json, text/event-stream".to_string()),
            ("MCP-Protocol-Version", self.version.clone()),
            ("Mcp-Method", method.to_string()),
        ];
        if let Some(n) = name {
            h.push(("Mcp-Name", n.to_string()));
        }
        h
    }

    /// A request with the envelope merged into `params._meta` and conformant headers.
    pub async fn request(&mut self, method: &str, params: Value) -> Resp {
        self.next_id += 1;
        let mut params = if params.is_object() { params } else { json!({}) };
        params["_meta"] = envelope(&self.version);
        let name = params.get("name").or_else(|| params.get("uri")).and_then(Value::as_str).map(str::to_string);
        let name = name.filter(|_| matches!(method, "tools/call" | "prompts/get" | "resources/read"));
        let h = self.headers(method, name.as_deref());
        let body = json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        self.app.send_with("POST", "/mcp", &h, Some(body)).await
    }

    /// Posts `body` as it is, with these headers (and the token).
    pub async fn raw(&self, headers: &[(&str, &str)], body: Value) -> Resp {
        let mut h = vec![("Authorization", format!("Bearer {}", self.token))];
        h.extend(headers.iter().map(|(k, v)| (*k, v.to_string())));
        self.app.send_with("POST", "/mcp", &h, Some(body)).await
    }

    /// A tools/call result (`result` of the JSON-RPC response).
    pub async fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args})).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["result"]["resultType"], "complete", "{}", r.text);
        r.body["result"].clone()
    }

    pub async fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args).await;
        assert_ne!(r["isError"], true, "{tool}: {r}");
        r["structuredContent"].clone()
    }
}
