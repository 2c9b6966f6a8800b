//! The real binary: `console-link` prints a link for the URL `serve` uses, and a
//! gateway that made a link, signed someone in through it and served their pages has
//! logged neither the link, nor the session secret, nor the CSRF token (JSON logs at
//! debug level). SQLite only: nothing here depends on the backend.

use nodedc_agent_gateway::reference_tasker::seed::demo;

use super::{Browser, link_of, path_of};
use crate::common::process::{Gateway, command, run};

const INTERNAL: &str = "console-process-internal-token-0123456789abcdef";

#[actix_web::test]
async fn console_link_prints_a_link_and_nothing_secret_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gw.db").display());
    let alice = demo::ALICE.to_string();
    let mut cmd = command(dir.path());
    cmd.args(["--database-url", &url, "--init", "owner", "upsert", "--user-id", &alice, "--name", "Alice"]);
    assert_eq!(run(cmd).0, 0);

    // Usage: one of --owner or --admin.
    for args in [vec![], vec!["--owner", &alice, "--admin", "Dana"], vec!["--owner", "not-a-uuid"]] {
        let mut cmd = command(dir.path());
        cmd.args(["--database-url", &url, "console-link"]).args(&args);
        assert_eq!(run(cmd).0, 2, "{args:?}");
    }

    let mut cmd = command(dir.path());
    cmd.args([
        "--database-url",
        &url,
        "--log-format",
        "json",
        "--log-level",
        "debug",
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--reference-tasker-bind",
        "127.0.0.1:0",
        "--internal-token",
        INTERNAL,
    ]);
    let mut gw = Gateway::start(cmd);

    let mut cmd = command(dir.path());
    cmd.args(["--database-url", &url, "console-link", "--owner", &alice, "--bind", &gw.addr]);
    let (code, out, err) = run(cmd);
    assert_eq!(code, 0, "{err}");
    let link = out.trim().to_string();
    assert!(link.starts_with(&format!("http://{}/console/sign-in?link=", gw.addr)), "{link}");
    assert_eq!(link_of(&link).len(), 64);
    assert!(err.contains("60 seconds"));

    let mut b = Browser::at(&gw.url(""));
    let page = b.get(&path_of(&link)).await;
    let form_csrf = page.csrf();
    let done = b.post("/console/sign-in", &[("csrf", &form_csrf), ("link", &link_of(&link))]).await;
    assert_eq!(done.status, 303, "{}", done.html);
    let session = b.cookies().get("nodedc_console").cloned().expect("a session cookie");
    let home = b.get("/console/owner").await;
    assert_eq!(home.status, 200, "{}", home.html);
    let csrf = home.csrf();
    assert_eq!(b.post("/console/sign-out", &[("csrf", &csrf)]).await.status, 303);

    let mut cmd = command(dir.path());
    cmd.args(["--database-url", &url, "console-link", "--admin", "Dana", "--public-url", "https://agents.example.com"]);
    let (code, admin_out, _) = run(cmd);
    assert_eq!(code, 0);
    assert!(admin_out.trim().starts_with("https://agents.example.com/console/sign-in?link="), "{admin_out}");

    assert!(gw.terminate().success());
    let log = gw.output();
    assert!(log.contains("/console/sign-in") && log.contains("/console/owner"), "the requests are logged:\n{log}");
    for (what, secret) in [("link", link_of(&link)), ("session", session), ("csrf", csrf), ("sign-in csrf", form_csrf)]
    {
        assert!(!log.contains(&secret), "the {what} is in the log");
    }
}
