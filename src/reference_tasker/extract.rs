//! What every API call must carry, checked before a handler runs: the internal token
//! (middleware, so unknown paths are covered too), the granted projects, and for writes
//! the idempotency key and a JSON body whose fingerprint identifies the request.

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpRequest, ResponseError, web};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::error::RefTaskerError;
use super::{LoggedRequest, TaskerState};
use crate::tasker::contract::{
    BASE_PATH, ErrorCode, GRANTED_HEADER, IDEMPOTENCY_HEADER, REQUEST_ID_HEADER, parse_granted_header, parse_issue_key,
};
use crate::telemetry::trace::{TRACEPARENT_HEADER, TraceParent};

/// Largest write body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

fn state(req: &HttpRequest) -> &TaskerState {
    req.app_data::<web::Data<TaskerState>>().expect("TaskerState is registered on the app")
}

/// True for paths the adapter contract covers.
pub fn is_api_path(path: &str) -> bool {
    path == BASE_PATH || path.strip_prefix(BASE_PATH).is_some_and(|rest| rest.starts_with('/'))
}

/// A path segment that asks for archiving (`archive`, `archived`, `archive-issues`,
/// `unarchive`…), other than a card key such as `ARCHIVE-3`.
fn is_archive_segment(segment: &str) -> bool {
    let s = segment.to_ascii_lowercase();
    (s.starts_with("archive") || s.starts_with("unarchive")) && parse_issue_key(segment).is_none()
}

/// Checks the token, then refuses deletes and archiving, on every path under
/// [`BASE_PATH`], known or not.
pub fn check_api_call(req: &HttpRequest) -> Result<(), RefTaskerError> {
    let Some(value) = req.headers().get(AUTHORIZATION) else {
        return Err(RefTaskerError::unauthorized("send `Authorization: Bearer <internal token>`"));
    };
    let presented = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty())
        .map(|(_, token)| token.trim());
    let Some(presented) = presented else {
        return Err(RefTaskerError::unauthorized("expected `Authorization: Bearer <internal token>`"));
    };
    if !state(req).token.matches(presented) {
        return Err(RefTaskerError::unauthorized("the internal token is not valid"));
    }
    if req.method() == Method::DELETE {
        return Err(RefTaskerError::new(
            ErrorCode::DeleteNotSupported,
            "nothing can be deleted through the agent adapter; a person deletes in Tasker",
        ));
    }
    if req.path().split('/').any(is_archive_segment) {
        return Err(RefTaskerError::new(
            ErrorCode::ArchiveNotSupported,
            "nothing can be archived through the agent adapter; a person archives in Tasker",
        ));
    }
    Ok(())
}

/// Middleware: [`check_api_call`] on adapter paths; the request id echoed on every
/// answer; one log line per request.
pub async fn guard(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let request_id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.path().to_string();
    let traceparent = req
        .headers()
        .get(TRACEPARENT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(TraceParent::parse)
        .map(|t| t.to_string());
    let requests = state(req.request()).requests.clone();
    let refused = if is_api_path(&path) { check_api_call(req.request()).err() } else { None };
    let mut res = match refused {
        Some(e) => req.into_response(e.error_response()).map_into_boxed_body(),
        None => next.call(req).await?.map_into_boxed_body(),
    };
    if let Ok(v) = HeaderValue::from_str(&request_id) {
        res.headers_mut().insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    let status = res.status().as_u16();
    tracing::info!(
        target: "reference_tasker",
        method = %method,
        path = %path,
        status,
        request_id = %request_id,
        traceparent = traceparent.as_deref().unwrap_or("-"),
        "request"
    );
    requests.push(LoggedRequest { method: method.to_string(), path, status, request_id, traceparent });
    Ok(res)
}

/// The projects the caller is granted ([`GRANTED_HEADER`]), required on every call.
#[derive(Debug, Clone)]
pub struct Granted(pub BTreeSet<Uuid>);

impl Granted {
    pub fn contains(&self, project_id: Uuid) -> bool {
        self.0.contains(&project_id)
    }

    /// The second line of defence: the gateway already checked the grant; Tasker checks
    /// again that the project is one the gateway says the agent holds.
    pub fn check(&self, project_id: Uuid) -> Result<(), RefTaskerError> {
        if self.contains(project_id) { Ok(()) } else { Err(RefTaskerError::not_granted(project_id)) }
    }
}

impl FromRequest for Granted {
    type Error = RefTaskerError;
    type Future = std::future::Ready<Result<Self, RefTaskerError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready((|| {
            let Some(raw) = req.headers().get(GRANTED_HEADER) else {
                return Err(RefTaskerError::bad_request(format!(
                    "the `{GRANTED_HEADER}` header is required (comma-separated project UUIDs)"
                )));
            };
            let parsed = raw.to_str().ok().and_then(parse_granted_header).ok_or_else(|| {
                RefTaskerError::bad_request(format!(
                    "the `{GRANTED_HEADER}` header must be comma-separated project UUIDs"
                ))
            })?;
            Ok(Granted(parsed.into_iter().collect()))
        })())
    }
}

/// A query string, checked naming the parameter.
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = RefTaskerError;
    type Future = std::future::Ready<Result<Self, RefTaskerError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if form_urlencoded::parse(req.query_string().as_bytes()).any(|(_, v)| v.contains('\0')) {
            return std::future::ready(Err(RefTaskerError::bad_request(
                "the query string must not contain NUL characters",
            )));
        }
        let parsed = form_urlencoded::parse(req.query_string().as_bytes());
        let de = serde_urlencoded::Deserializer::new(parsed);
        std::future::ready(
            serde_path_to_error::deserialize(de)
                .map(Query)
                .map_err(|e| RefTaskerError::bad_request(format!("the query string is not valid: {}", describe(e)))),
        )
    }
}

/// Whether any string in the body holds a NUL (no database stores it).
fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(map) => map.values().any(has_nul),
        _ => false,
    }
}

/// Why a value did not deserialize, naming where (`actor.agent_id: UUID parsing failed…`).
fn describe<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    if path == "." || path.is_empty() { e.inner().to_string() } else { format!("`{path}`: {}", e.inner()) }
}

/// A write: its [`IDEMPOTENCY_HEADER`], its typed JSON body, and the fingerprint that
/// identifies the request for replay.
pub struct Write<T> {
    pub body: T,
    pub key: String,
    pub fingerprint: String,
}

fn idempotency_key(req: &HttpRequest) -> Result<String, RefTaskerError> {
    let raw = req
        .headers()
        .get(IDEMPOTENCY_HEADER)
        .ok_or_else(|| RefTaskerError::bad_request(format!("writes require the `{IDEMPOTENCY_HEADER}` header")))?;
    let key = raw.to_str().ok().map(str::trim).unwrap_or_default();
    if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RefTaskerError::bad_request(format!(
            "the `{IDEMPOTENCY_HEADER}` header must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
        )));
    }
    Ok(key.to_string())
}

impl<T: DeserializeOwned + 'static> FromRequest for Write<T> {
    type Error = RefTaskerError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, RefTaskerError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let key = idempotency_key(req);
        let bytes = web::Bytes::from_request(req, payload);
        let method = req.method().to_string();
        let path = req.path().to_string();
        Box::pin(async move {
            let key = key?;
            let bytes =
                bytes.await.map_err(|e| RefTaskerError::bad_request(format!("the body could not be read: {e}")))?;
            if bytes.iter().all(u8::is_ascii_whitespace) {
                return Err(RefTaskerError::bad_request("the body is empty; send a JSON object"));
            }
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|e| RefTaskerError::bad_request(format!("the body is not valid JSON: {e}")))?;
            if !value.is_object() {
                return Err(RefTaskerError::bad_request("the body must be a JSON object"));
            }
            if has_nul(&value) {
                return Err(RefTaskerError::bad_request("text must not contain NUL characters"));
            }
            let fingerprint = fingerprint(&method, &path, &value);
            let body = serde_path_to_error::deserialize(value).map_err(|e| {
                RefTaskerError::bad_request(format!("the JSON body is not acceptable: {}", describe(e)))
            })?;
            Ok(Write { body, key, fingerprint })
        })
    }
}

/// SHA-256 (hex) of the method, the path and the body as canonical JSON (keys sorted,
/// no spaces), leaving out the actor's `request_id` and `agent_name`: a retry through a
/// new gateway request, or after the agent was renamed, is the same request.
pub fn fingerprint(method: &str, path: &str, body: &Value) -> String {
    let mut body = body.clone();
    if let Some(actor) = body.get_mut("actor").and_then(Value::as_object_mut) {
        actor.remove("request_id");
        actor.remove("agent_name");
    }
    let mut canonical = String::new();
    write_canonical(&body, &mut canonical);
    let digest = Sha256::digest(format!("{method}\n{path}\n{canonical}").as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// A project in a path: its UUID.
pub fn project_id(raw: &str) -> Result<Uuid, RefTaskerError> {
    Uuid::parse_str(raw.trim()).map_err(|_| {
        RefTaskerError::bad_request(format!("`{raw}` is not a project id (a UUID); resolve identifiers first"))
    })
}

/// A card in a path or a body: its UUID or its key (`WEB-12`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardRef {
    Id(Uuid),
    Key(String, i64),
}

impl CardRef {
    pub fn parse(raw: &str) -> Option<CardRef> {
        if let Ok(id) = Uuid::parse_str(raw.trim()) {
            return Some(CardRef::Id(id));
        }
        parse_issue_key(raw).map(|(ident, seq)| CardRef::Key(ident, seq))
    }

    /// A card named in a path; anything else is a `bad_request`.
    pub fn from_path(raw: &str) -> Result<CardRef, RefTaskerError> {
        Self::parse(raw).ok_or_else(|| {
            RefTaskerError::bad_request(format!("`{raw}` is neither a card id (UUID) nor a card key such as WEB-12"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fingerprints_ignore_key_order_and_request_id() {
        let a = json!({"title": "x", "actor": {"agent_id": "a", "request_id": "r1"}, "labels": ["b", "a"]});
        let b = json!({"labels": ["b", "a"], "actor": {"request_id": "r2", "agent_id": "a"}, "title": "x"});
        assert_eq!(fingerprint("POST", "/p", &a), fingerprint("POST", "/p", &b));
        assert_ne!(fingerprint("POST", "/p", &a), fingerprint("POST", "/q", &a));
        let c = json!({"title": "y", "actor": {"agent_id": "a", "request_id": "r1"}, "labels": ["b", "a"]});
        assert_ne!(fingerprint("POST", "/p", &a), fingerprint("POST", "/p", &c));
    }

    #[test]
    fn archive_segments() {
        assert!(is_archive_segment("archive"));
        assert!(is_archive_segment("Archived-issues"));
        assert!(is_archive_segment("unarchive"));
        assert!(!is_archive_segment("ARCHIVE-3"));
        assert!(!is_archive_segment("issues"));
    }

    #[test]
    fn card_refs() {
        assert_eq!(CardRef::parse("web-3"), Some(CardRef::Key("WEB".into(), 3)));
        let id = Uuid::new_v4();
        assert_eq!(CardRef::parse(&id.to_string()), Some(CardRef::Id(id)));
        assert_eq!(CardRef::parse("nope"), None);
    }
}
