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
