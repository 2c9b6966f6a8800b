//! Raw adapter calls, for what the gateway's client would never send (no token, no
//! granted header or another one, a DELETE, an archive path, a missing idempotency key,
//! a field outside the allowlist), and for answers whose status and headers matter.

use std::time::Duration;

use actix_web::http::Method;
use actix_web::http::header::HeaderMap;
use actix_web::web::Bytes;
use serde::de::DeserializeOwned;
use serde_json::Value;
use uuid::Uuid;

use super::Problem;
use crate::auth::InternalToken;
use crate::tasker::client::install_crypto_provider;
use crate::tasker::contract::{
    AdapterError, BASE_PATH, ErrorBody, ErrorCode, GRANTED_HEADER, IDEMPOTENCY_HEADER, REQUEST_ID_HEADER,
};

/// Largest answer read.
const MAX_ANSWER: usize = 16 * 1024 * 1024;

pub(crate) struct Raw {
    http: awc::Client,
    base_url: String,
    token: InternalToken,
    project: Uuid,
}

impl Raw {
    pub fn new(base_url: &str, token: InternalToken, project: Uuid, timeout: Duration) -> Self {
        install_crypto_provider();
        let connector = awc::Connector::new().timeout(Duration::from_secs(5));
        let http = awc::Client::builder().connector(connector).timeout(timeout).disable_redirects().finish();
        Raw { http, base_url: base_url.to_string(), token, project }
    }

    /// A call of `path` (under the base path) as the gateway makes it: the token, the
    /// project granted, a request id. The builder then takes that away or adds to it.
    pub fn call(&self, method: Method, path: impl Into<String>) -> Call<'_> {
        Call {
            raw: self,
            method,
            path: path.into(),
            bearer: Some(self.token.expose().to_string()),
            granted: Some(self.project.to_string()),
            request_id: Some(format!("tasker-check-{}", Uuid::new_v4())),
            key: None,
            body: None,
        }
    }
}

/// One raw call being built.
pub(crate) struct Call<'a> {
    raw: &'a Raw,
    method: Method,
    path: String,
    bearer: Option<String>,
    granted: Option<String>,
    request_id: Option<String>,
    key: Option<String>,
    body: Option<Value>,
}

impl Call<'_> {
    /// Another bearer token, or none at all.
    pub fn bearer(mut self, token: Option<&str>) -> Self {
        self.bearer = token.map(str::to_string);
        self
    }

    /// Another granted header value, or none at all.
    pub fn granted(mut self, value: Option<String>) -> Self {
        self.granted = value;
        self
    }

    pub fn request_id(mut self, id: Option<String>) -> Self {
        self.request_id = id;
        self
    }

    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    pub async fn send(self) -> Result<Answer, Problem> {
        let what = format!("{} {}", self.method, self.path);
        let url = format!("{}{}{}", self.raw.base_url, BASE_PATH, self.path);
        let mut req = self.raw.http.request(self.method, url);
        if let Some(token) = &self.bearer {
            req = req.insert_header(("Authorization", format!("Bearer {token}")));
        }
        for (name, value) in [(GRANTED_HEADER, self.granted), (REQUEST_ID_HEADER, self.request_id)] {
            if let Some(value) = value {
                req = req.insert_header((name, value));
            }
        }
        if let Some(key) = self.key {
            req = req.insert_header((IDEMPOTENCY_HEADER, key));
        }
        let sent = match &self.body {
            Some(body) => req.send_json(body).await,
            None => req.send().await,
        };
        let mut res = sent.map_err(|e| Problem::fail(format!("{what}: could not reach Tasker: {e}")))?;
        let body = res
            .body()
            .limit(MAX_ANSWER)
            .await
            .map_err(|e| Problem::fail(format!("{what}: reading the answer failed: {e}")))?;
        Ok(Answer { what, status: res.status().as_u16(), headers: res.headers().clone(), body })
    }
}

/// What Tasker answered to a raw call.
pub(crate) struct Answer {
    /// `METHOD /path` (under the base path), for reasons.
    pub what: String,
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The contract's error body, if that is what came back.
    pub fn error(&self) -> Option<AdapterError> {
        serde_json::from_slice::<ErrorBody>(&self.body).ok().map(|b| b.error)
    }

    /// The status and, for an error, its code: "403 project_not_granted".
    pub fn summary(&self) -> String {
        match self.error() {
            Some(e) => format!("{} {}", self.status, e.code),
            None if self.status >= 400 => format!("{} without the contract's error body", self.status),
            None => self.status.to_string(),
        }
    }

    /// The contract's error `code`, with the status the contract gives it.
    pub fn expect_error(&self, code: ErrorCode) -> Result<AdapterError, Problem> {
        match self.error() {
            Some(e) if e.code == code && self.status == code.status() => Ok(e),
            _ => {
                Err(Problem::fail(format!("{}: expected {} {code}, got {}", self.what, code.status(), self.summary())))
            }
        }
    }

    /// A success with `status` whose body has the contract's shape `T`.
    pub fn expect_ok<T: DeserializeOwned>(&self, status: u16) -> Result<T, Problem> {
        if self.status != status {
            return Err(Problem::fail(format!("{}: expected {status}, got {}", self.what, self.summary())));
        }
        serde_json::from_slice(&self.body).map_err(|e| {
            Problem::fail(format!("{}: the {status} answer does not have the contract's shape: {e}", self.what))
        })
    }
}
