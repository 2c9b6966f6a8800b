//! The reference Tasker in process on a loopback port, seeded with the demo workspace,
//! and helpers to call its adapter API as the gateway would.

use std::time::Duration;

use serde_json::{Value, json};
use uuid::Uuid;

use nodedc_agent_gateway::reference_tasker::{self, RunningTasker, demo};
use nodedc_agent_gateway::storage::{Backend, Db};
use nodedc_agent_gateway::tasker::contract::{BASE_PATH, GRANTED_HEADER, IDEMPOTENCY_HEADER, granted_header_value};

use super::{INTERNAL_TOKEN, Resp, TestDb};

/// The agent the tests write as.
pub const AGENT: Uuid = uuid::uuid!("0a6e0000-0000-4000-8000-0000000000a1");
pub const AGENT_NAME: &str = "Web bot";

pub struct TaskerApp {
    pub db: Db,
    pub running: RunningTasker,
    pub client: awc::Client,
    _test_db: TestDb,
}

impl TaskerApp {
    pub async fn start(backend: Backend) -> Self {
        let test_db = TestDb::new(backend);
        let db = test_db.connect().await;
        assert!(reference_tasker::seed_demo(&db).await.expect("seed"), "a new database is seeded");
        let running =
            reference_tasker::start(db.clone(), INTERNAL_TOKEN, "127.0.0.1:0".parse().unwrap()).await.expect("start");
        let client = awc::Client::builder().timeout(Duration::from_secs(30)).finish();
        Self { db, running, client, _test_db: test_db }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.running.addr, path)
    }

    /// Any request; `headers` are added as given.
    pub async fn call(&self, method: &str, path: &str, headers: &[(&str, String)], body: Option<&str>) -> Resp {
        let method = actix_web::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, self.url(path));
        for (name, value) in headers {
            req = req.insert_header((*name, value.clone()));
        }
        let res = match body {
            Some(b) => req.insert_header(("content-type", "application/json")).send_body(b.to_string()).await,
            None => req.send().await,
        };
        let mut res = res.expect("request");
        let bytes = res.body().limit(8 * 1024 * 1024).await.expect("body");
        let text = String::from_utf8_lossy(&bytes).to_string();
        Resp {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body: serde_json::from_str(&text).unwrap_or(Value::Null),
            text,
        }
    }

    /// A read of `BASE_PATH + path` with the token and these granted projects.
    pub async fn get_as(&self, granted: &[Uuid], path: &str) -> Resp {
        let headers = [auth(), (GRANTED_HEADER, granted_header_value(granted))];
        self.call("GET", &format!("{BASE_PATH}{path}"), &headers, None).await
    }

    /// A read granted WEB.
    pub async fn get(&self, path: &str) -> Resp {
        self.get_as(&[demo::WEB], path).await
    }

    /// A write of `BASE_PATH + path` with the token, these granted projects and key.
    pub async fn write_as(&self, granted: &[Uuid], method: &str, path: &str, key: &str, body: &Value) -> Resp {
        let headers = [auth(), (GRANTED_HEADER, granted_header_value(granted)), (IDEMPOTENCY_HEADER, key.to_string())];
        self.call(method, &format!("{BASE_PATH}{path}"), &headers, Some(&body.to_string())).await
    }

    /// A write granted WEB, with a fresh idempotency key.
    pub async fn write(&self, method: &str, path: &str, body: &Value) -> Resp {
        self.write_as(&[demo::WEB], method, path, &Uuid::new_v4().to_string(), body).await
    }

    /// A board page (no auth).
    pub async fn page(&self, path: &str) -> Resp {
        self.call("GET", path, &[], None).await
    }

    pub async fn stop(self) {
        self.running.handle.stop(false).await;
        self.db.close();
    }
}

impl Drop for TaskerApp {
    fn drop(&mut self) {
        self.db.close();
    }
}

pub fn auth() -> (&'static str, String) {
    ("authorization", format!("Bearer {INTERNAL_TOKEN}"))
}

/// The actor of the tests' writes: agent "Web bot" on behalf of Alice.
pub fn actor() -> Value {
    actor_for(AGENT, AGENT_NAME, demo::ALICE)
}

pub fn actor_for(agent: Uuid, name: &str, owner: Uuid) -> Value {
    json!({ "agent_id": agent, "agent_name": name, "owner_user_id": owner, "request_id": Uuid::new_v4().to_string() })
}

/// `body` with the test actor added.
pub fn with_actor(mut body: Value) -> Value {
    body["actor"] = actor();
    body
}

/// Asserts an error answer's status and code.
#[track_caller]
pub fn assert_error(r: &Resp, status: u16, code: &str) {
    assert_eq!((r.status, r.code()), (status, code), "unexpected answer: {}", r.text);
    assert!(r.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", r.text);
}
