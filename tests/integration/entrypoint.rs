//! The container entrypoint (`docker/entrypoint.sh`), run outside Docker against the
//! cargo-built binary: it migrates, execs `serve` only when migrating succeeded (so the
//! shell is replaced by the gateway), and passes any other subcommand straight through.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_nodedc-agent-gateway");
const POLL: Duration = Duration::from_millis(100);
const START_TIMEOUT: Duration = Duration::from_secs(30);
const EXIT_TIMEOUT: Duration = Duration::from_secs(30);

fn entrypoint() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("docker/entrypoint.sh")
}

fn internal_token() -> String {
    "0123456789abcdef".repeat(3) // 48 characters
}

/// A loopback port nothing listens on right now.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}", dir.join("gw.db").display())
}

/// `sh docker/entrypoint.sh ARGS` with a clean gateway environment: no inherited
/// `NODEDC_*` variables, the cargo-built binary, JSON logs, and a data directory in `dir`.
fn entrypoint_command(dir: &Path, database_url: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg(entrypoint()).args(args).current_dir(dir);
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("NODEDC_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("NODEDC_AGENT_GATEWAY_BIN", BIN)
        .env("NODEDC_AGENT_GATEWAY_DATABASE_URL", database_url)
        .env("NODEDC_AGENT_GATEWAY_DATA_DIR", dir.join("data"))
        .env("NODEDC_AGENT_GATEWAY_LOG_FORMAT", "json")
        .env("NODEDC_AGENT_GATEWAY_LOG_LEVEL", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Production-mode serve settings on a loopback port.
fn production(cmd: &mut Command, addr: SocketAddr) {
    cmd.env("NODEDC_AGENT_GATEWAY_MODE", "production")
        .env("NODEDC_AGENT_GATEWAY_INTERNAL_TOKEN", internal_token())
        .env("NODEDC_AGENT_GATEWAY_BIND", addr.to_string())
        // Production names its Tasker; nothing contacts it at start-up.
        .env("NODEDC_AGENT_GATEWAY_TASKER_URL", "http://127.0.0.1:9")
        .env("NODEDC_AGENT_GATEWAY_TASKER_TOKEN", internal_token());
}

/// Output of a pipe, collected by a thread as it arrives.
struct Captured {
    buf: Arc<Mutex<Vec<u8>>>,
    reader: Option<JoinHandle<()>>,
}

impl Captured {
    fn start(mut pipe: impl Read + Send + 'static) -> Self {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&buf);
        let reader = thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sink.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
        });
        Self { buf, reader: Some(reader) }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap()).into_owned()
    }

    /// Waits (bounded) until the writer closed the pipe, so the text is complete.
    fn finish(&mut self, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        if let Some(reader) = self.reader.take() {
            while !reader.is_finished() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        self.text()
    }
}

/// The entrypoint's process. Dropping it kills the process, so no gateway outlives a
/// failed assertion.
struct Running {
    child: Child,
    stdout: Captured,
    stderr: Captured,
}

impl Running {
    fn spawn(mut cmd: Command) -> Self {
        // Its own process group, so cleanup also reaches anything it forked (a gateway
        // left running by an entrypoint that failed to `exec`).
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().expect("start sh docker/entrypoint.sh");
        let stdout = Captured::start(child.stdout.take().expect("piped stdout"));
        let stderr = Captured::start(child.stderr.take().expect("piped stderr"));
        Self { child, stdout, stderr }
    }

    fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the entrypoint") {
                return status;
            }
            if Instant::now() >= deadline {
                panic!("the entrypoint did not exit within {timeout:?}\nstderr:\n{}", self.stderr.text());
            }
            thread::sleep(POLL);
        }
    }

    /// Waits for the process to exit and its output to be complete: (status, stdout, stderr).
    fn finish(mut self, timeout: Duration) -> (ExitStatus, String, String) {
        let status = self.wait_exit(timeout);
        let stdout = self.stdout.finish(Duration::from_secs(5));
        let stderr = self.stderr.finish(Duration::from_secs(5));
        (status, stdout, stderr)
    }

    /// Polls `GET /readyz` until it answers 200; returns the body.
    fn wait_ready(&mut self, addr: SocketAddr, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("poll the entrypoint") {
                panic!(
                    "the entrypoint exited ({status}) before the gateway was ready\nstderr:\n{}",
                    self.stderr.finish(Duration::from_secs(5))
                );
            }
            let last = match http_get(addr, "/readyz") {
                Ok((200, body)) => return body,
                Ok((code, body)) => format!("HTTP {code}: {body}"),
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                panic!(
                    "GET /readyz did not answer 200 within {timeout:?} (last: {last})\nstderr:\n{}",
                    self.stderr.text()
                );
            }
            thread::sleep(POLL);
        }
    }

    /// Waits (bounded) until stderr contains `needle`.
    fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.stderr.text();
            if text.contains(needle) {
                return text;
            }
            if Instant::now() >= deadline {
                panic!("stderr never contained {needle:?} within {timeout:?}:\n{text}");
            }
            thread::sleep(POLL);
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        #[cfg(unix)]
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a raw socket: (status code, body).
fn http_get(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(Duration::from_secs(5)))?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: application/json\r\nConnection: close\r\n\r\n")?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let response = String::from_utf8_lossy(&response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let status_line = head.lines().next().unwrap_or_default();
    let code =
        status_line.split_whitespace().nth(1).and_then(|c| c.parse().ok()).ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, format!("no HTTP status line in {status_line:?}"))
        })?;
    Ok((code, body.to_string()))
}

/// The `message` of every JSON log line, in order (other lines are skipped).
fn log_messages(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|event| event.get("message")?.as_str().map(str::to_string))
        .collect()
}

#[test]
fn migrates_then_execs_serve() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Flags after the image name reach `serve` (and not `migrate`, which would refuse them).
    let mut cmd = entrypoint_command(dir.path(), &sqlite_url(dir.path()), &["--workers", "1"]);
    production(&mut cmd, addr);
    let mut gateway = Running::spawn(cmd);

    let body = gateway.wait_ready(addr, START_TIMEOUT);
    assert!(body.contains(r#""schema":"current""#), "unexpected /readyz body: {body}");

    let stderr = gateway.wait_stderr(r#""listening""#, Duration::from_secs(5));
    let messages = log_messages(&stderr);
    let applied = messages.iter().position(|m| m == "applied migration");
    let listening = messages.iter().position(|m| m == "listening");
    match (applied, listening) {
        (Some(a), Some(l)) => assert!(a < l, "a migration was applied after the gateway was listening:\n{stderr}"),
        _ => panic!("expected `applied migration` and then `listening` JSON events:\n{stderr}"),
    }

    // `exec`: the entrypoint's process is now the gateway itself, not a shell.
    #[cfg(target_os = "linux")]
    {
        let exe =
            std::fs::read_link(format!("/proc/{}/exe", gateway.child.id())).expect("read the process's executable");
        let exe = exe.to_string_lossy();
        assert!(
            exe.trim_end_matches(" (deleted)").ends_with("/nodedc-agent-gateway"),
            "the entrypoint's process runs {exe}, not the gateway"
        );
    }

    // Killing that one process frees the port: no forked gateway is left behind.
    gateway.child.kill().expect("kill the gateway");
    gateway.child.wait().expect("reap the gateway");
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "something still listens on {addr} after the entrypoint's process was killed"
    );
}

#[test]
fn failed_migration_never_serves() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    // Nothing listens on port 1, so connecting (and so migrating) fails at once.
    let mut cmd = entrypoint_command(dir.path(), "postgres://postgres@127.0.0.1:1/nope", &[]);
    production(&mut cmd, addr);

    let (status, stdout, stderr) = Running::spawn(cmd).finish(EXIT_TIMEOUT);
    assert!(!status.success(), "the entrypoint succeeded without a database\nstderr:\n{stderr}");
    assert_eq!(
        status.code(),
        Some(1),
        "the entrypoint should exit with migrate's status (1: failed)\nstderr:\n{stderr}"
    );
    assert!(stderr.contains("not starting the gateway"), "the entrypoint did not say why it stopped:\n{stderr}");
    assert!(
        !stderr.contains("listening") && !stdout.contains("listening"),
        "the gateway started serving although migrating failed:\n{stderr}"
    );
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(), "something listens on {addr}");
}

#[test]
fn passes_subcommands_through() {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = sqlite_url(dir.path());

    let cmd = entrypoint_command(dir.path(), &url, &["migrate"]);
    let (status, stdout, stderr) = Running::spawn(cmd).finish(EXIT_TIMEOUT);
    assert!(status.success(), "migrate failed ({status})\nstderr:\n{stderr}");
    assert!(stdout.contains("database schema is current"), "unexpected migrate output:\n{stdout}\nstderr:\n{stderr}");
    assert!(
        log_messages(&stderr).iter().any(|m| m == "applied migration"),
        "migrate applied nothing on a new database:\n{stderr}"
    );
    assert!(!stderr.contains("listening"), "migrate served:\n{stderr}");

    // An operator command reaches the binary as given, on the migrated database.
    let cmd = entrypoint_command(dir.path(), &url, &["agent", "list"]);
    let (status, stdout, stderr) = Running::spawn(cmd).finish(EXIT_TIMEOUT);
    assert!(status.success(), "agent list failed ({status})\nstderr:\n{stderr}");
    assert!(stdout.contains("no agents"), "unexpected output:\n{stdout}");

    // Any subcommand, including one the entrypoint does not name (`demo-setup`).
    let cmd = entrypoint_command(dir.path(), &url, &["demo-setup"]);
    let (status, stdout, stderr) = Running::spawn(cmd).finish(EXIT_TIMEOUT);
    assert!(status.success(), "demo-setup failed ({status})\nstderr:\n{stderr}");
    assert!(stdout.contains("export NODEDC_AGENT_TOKEN_DEMO_AGENT=ndcag_"), "unexpected output:\n{stdout}");

    // A misspelt one is the binary's usage error, not a `serve` with a stray argument.
    let cmd = entrypoint_command(dir.path(), &url, &["servee"]);
    let (status, _, stderr) = Running::spawn(cmd).finish(EXIT_TIMEOUT);
    assert_eq!(status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("unrecognized subcommand") && !stderr.contains("migrat"), "stderr:\n{stderr}");

    let cmd = entrypoint_command(dir.path(), &url, &["--version"]);
    let (status, stdout, stderr) = Running::spawn(cmd).finish(EXIT_TIMEOUT);
    assert!(status.success(), "--version failed ({status})\nstderr:\n{stderr}");
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "unexpected --version output:\n{stdout}");
}

#[test]
fn malformed_http_writes_no_error_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut cmd = entrypoint_command(dir.path(), &sqlite_url(dir.path()), &["--workers", "1"]);
    production(&mut cmd, addr);
    let mut gateway = Running::spawn(cmd);
    gateway.wait_ready(addr, START_TIMEOUT);
    // What a client can send wrong: a garbled request line, a bad header, a body cut
    // short, a bad chunk.
    let garbage: [&[u8]; 4] = [
        b"GARBAGE\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n",
        b"POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
        b"POST /mcp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc",
    ];
    for bytes in garbage {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.write_all(bytes).expect("send");
        s.set_read_timeout(Some(Duration::from_millis(300))).ok();
        let _ = s.read(&mut [0u8; 512]);
    }
    // The gateway still serves, and its log has no ERROR line.
    assert_eq!(http_get(addr, "/healthz").expect("healthz").0, 200);
    gateway.child.kill().expect("kill the gateway");
    let (_, _, stderr) = gateway.finish(Duration::from_secs(10));
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains(r#""level":"ERROR""#)).collect();
    assert!(errors.is_empty(), "client input wrote error lines:\n{}", errors.join("\n"));
    assert!(stderr.contains(r#""message":"listening""#), "the log was captured:\n{stderr}");
}
