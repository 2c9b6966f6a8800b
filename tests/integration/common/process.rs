//! Running the real binary: spawn, read its JSON log, find where it listens, stop it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_nodedc-agent-gateway");

/// A command for the binary with no inherited gateway settings.
pub fn command(cwd: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("NODEDC_AGENT_GATEWAY_") || k == "RUST_LOG" {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A running gateway process, killed when dropped.
pub struct Gateway {
    pub child: Child,
    pub output: Arc<Mutex<String>>,
    pub addr: String,
}

fn pump(reader: impl std::io::Read + Send + 'static, sink: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(reader).lines().map_while(Result::ok) {
            let mut s = sink.lock().unwrap();
            s.push_str(&line);
            s.push('\n');
        }
    });
}

impl Gateway {
    /// Starts `cmd` (a `serve` command) and waits until it logs where it listens.
    pub fn start(mut cmd: Command) -> Self {
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn gateway");
        let output = Arc::new(Mutex::new(String::new()));
        pump(child.stdout.take().unwrap(), output.clone());
        pump(child.stderr.take().unwrap(), output.clone());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = listening_address(&output.lock().unwrap());
            if let Some(addr) = found {
                return Self { child, output, addr };
            }
            if let Ok(Some(status)) = child.try_wait() {
                panic!("gateway exited with {status} before listening:\n{}", output.lock().unwrap());
            }
            assert!(Instant::now() < deadline, "gateway did not start:\n{}", output.lock().unwrap());
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// SIGTERM, then wait for a clean exit (bounded).
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Let the pump threads drain what was written last.
                std::thread::sleep(Duration::from_millis(100));
                return status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("gateway did not stop on SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address in the `listening` log event (JSON or text format).
fn listening_address(log: &str) -> Option<String> {
    for line in log.lines().filter(|l| l.contains("listening")) {
        if let Ok(v) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(a) = v["address"].as_str()
        {
            return Some(a.to_string());
        }
        if let Some(rest) = line.split("address=").nth(1) {
            return rest.split_whitespace().next().map(str::to_string);
        }
    }
    None
}

/// Runs the binary to completion (bounded) and returns (exit code, stdout, stderr).
pub fn run(mut cmd: Command) -> (i32, String, String) {
    let out = cmd.output().expect("run binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}
