//! The binary as a newcomer meets it: its help, its refusals on bad configuration, and the demo
//! coming up on a private PostgreSQL.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bma-social"));
    c.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).current_dir(std::env::temp_dir());
    c
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(0)
}

fn run(c: &mut Command) -> (bool, String) {
    let out = c.output().expect("the binary runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn help_explains_every_role() {
    let (ok, text) = run(bin().arg("--help"));
    assert!(ok);
    for role in ["serve", "worker", "scheduler", "all", "migrate", "seed", "demo"] {
        assert!(text.lines().any(|l| l.trim_start().starts_with(role)), "{role} missing from --help:\n{text}");
    }
}

#[test]
fn a_missing_or_malformed_variable_stops_start_up_and_is_named() {
    let (ok, text) = run(bin().arg("serve"));
    assert!(!ok);
    assert!(text.contains("JWT_SECRET_KEY is required but not set"), "{text}");

    let secrets = [
        ("JWT_SECRET_KEY", "s3cret-s3cret-s3cret-s3cret-s3cret-42"),
        ("DATA_ENCRYPTION_KEY", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="),
    ];
    let (ok, text) = run(bin().arg("serve").envs(secrets));
    assert!(!ok);
    assert!(text.contains("DATABASE_URL is required but not set"), "{text}");

    let (ok, text) = run(bin().arg("worker").envs(secrets).env("POLLING_INTERVAL", "five minutes"));
    assert!(!ok);
    assert!(text.contains("POLLING_INTERVAL is malformed"), "{text}");

    let (ok, text) =
        run(bin().arg("serve").envs(secrets).env("DATABASE_URL", "postgres://bma:hunter2-db@127.0.0.1:1/x"));
    assert!(!ok);
    for secret in ["s3cret-s3cret", "hunter2-db", "MDEyMzQ1"] {
        assert!(!text.contains(secret), "a secret was printed:\n{text}");
    }
}

fn http_status(port: u16, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).ok()?;
    buf.split_whitespace().nth(1)?.parse().ok()
}

#[test]
fn the_demo_starts_a_private_postgresql_answers_health_and_stops_cleanly() {
    let dir = std::env::temp_dir().join(format!("bma-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (http, pg) = (free_port(), free_port());
    let mut child = bin()
        .args(["demo", "--venues", "20", "--zones", "60"])
        .env("BMA_DATA_DIR", &dir)
        .env("BMA_EMBEDDED_PG_PORT", pg.to_string())
        .env("PORT", http.to_string())
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("demo starts");
    let started = Instant::now();
    let mut status = None;
    while started.elapsed() < Duration::from_secs(90) {
        status = http_status(http, "/health");
        if status == Some(200) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let exit = child.wait().expect("demo exits");
    assert_eq!(status, Some(200), "the demo never answered /health");
    assert!(exit.success(), "demo exited with {exit:?}");
    assert!(dir.join("postgres/PG_VERSION").exists(), "the data folder was not created");
    assert!(!dir.join("postgres/postmaster.pid").exists(), "the private PostgreSQL was left running");
    let _ = std::fs::remove_dir_all(&dir);
}
