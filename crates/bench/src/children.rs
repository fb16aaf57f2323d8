//! The `bma-social` processes a benchmark starts (the release build next to `bma-bench`), and
//! what is read off them: whether they still run, their memory and CPU from `/proc`.

use anyhow::{Context, bail};
use http_body_util::Empty;
use hyper::body::Bytes;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The processes this benchmark started; each is killed when this is dropped, on every way out.
#[derive(Default)]
pub struct Children(pub Vec<(&'static str, Child)>);

impl Children {
    pub fn pid(&self, i: usize) -> u32 {
        self.0[i].1.id()
    }

    /// `kill -9` of the `i`-th process, reaped: its pid.
    pub fn kill(&mut self, i: usize) -> anyhow::Result<u32> {
        let child = &mut self.0[i].1;
        let pid = child.id();
        child.kill()?;
        child.wait()?;
        Ok(pid)
    }

    /// An error if one of them has already exited (it would explain a stall).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for (name, c) in &mut self.0 {
            if let Some(status) = c.try_wait()? {
                bail!("the {name} process exited early ({status})");
            }
        }
        Ok(())
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for (_, c) in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The real `bma-social <role>` next to this binary, with the bench's settings; its standard
/// output (where its logs go) and error are appended to `log`.
pub fn spawn(
    role: &str,
    env: &HashMap<&'static str, String>,
    port: Option<u16>,
    log: &std::path::Path,
) -> anyhow::Result<Child> {
    let exe = std::env::current_exe()?.with_file_name("bma-social");
    let out = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let mut cmd = Command::new(&exe);
    cmd.arg(role)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env)
        .stdout(out.try_clone()?)
        .stderr(out);
    if let Some(p) = port {
        cmd.env("HOST", "127.0.0.1").env("PORT", p.to_string());
    }
    cmd.spawn().with_context(|| format!("starting {} (build it: cargo build --release -p bma-social)", exe.display()))
}

/// Waits (up to 3 minutes) until discovery has linked `total` zones of the Soundtrack fake and
/// the monitor has observed each of them once.
pub async fn wait_for_discovery(db: &sqlx::PgPool, total: i64, children: &mut Children) -> anyhow::Result<()> {
    wait_for("discovery and a first observation of every zone", Duration::from_secs(180), children, || {
        let db = db.clone();
        async move {
            let seen: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM zones z JOIN zone_monitor_state s ON s.zone_id = z.id \
                 WHERE z.soundtrack_device_id IS NOT NULL AND s.observation <> 'unknown'",
            )
            .fetch_one(&db)
            .await?;
            Ok(seen >= total)
        }
    })
    .await
}

/// A port free now on the loopback.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Resident memory of a process in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no VmRSS")
}

/// One GET on a fresh connection: its status, or None when the server does not answer.
pub async fn get_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.ok()?;
    tokio::spawn(conn);
    let req = hyper::Request::get(path).header("host", "bench").body(Empty::<Bytes>::new()).ok()?;
    let res = sender.send_request(req).await.ok()?;
    Some(res.status().as_u16())
}

/// Waits until `check` holds, polling, or fails after `limit` saying what it waited for.
pub async fn wait_for<F, Fut>(what: &str, limit: Duration, children: &mut Children, mut check: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<bool>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if check().await? {
            return Ok(());
        }
        children.check_alive()?;
        if Instant::now() > deadline {
            bail!("timed out after {} s waiting for {what}", limit.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// CPU time (user + system) a process has used, in seconds (`/proc/PID/stat`, in USER_HZ = 100).
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let rest = &stat[stat.rfind(')').context("no command in stat")? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> { Ok(f.get(i).context("short stat")?.parse::<f64>()?) };
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// Peak resident memory of a process in KiB (`VmHWM` of `/proc/PID/status`).
pub fn peak_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .context("no VmHWM")
}

/// A PostgreSQL server of the benchmark's own, in a temporary folder (the machine's newest
/// binaries, as `bma-social all` starts one: `bma_store::embedded`), so that faults do not reach
/// the machine's shared server. Stopped and its folder removed when dropped.
pub struct PrivatePostgres {
    pg: Option<bma_store::embedded::EmbeddedPostgres>,
    dir: std::path::PathBuf,
    pub url: String,
}

impl PrivatePostgres {
    pub async fn start(database: &str) -> anyhow::Result<Self> {
        let dir = std::env::temp_dir().join(format!("bma-bench-pg-{}", uuid::Uuid::new_v4().simple()));
        let (d, name, port) = (dir.clone(), database.to_owned(), free_port()?);
        let pg = tokio::task::spawn_blocking(move || bma_store::embedded::EmbeddedPostgres::start(&d, port, &name))
            .await?
            .context("starting a private PostgreSQL")?;
        let me = Self { url: pg.url.clone(), pg: Some(pg), dir };
        // Durability is not what is measured; fsync is a SIGHUP setting, applied by a reload.
        let db = bma_store::connect(&me.url, 1).await?;
        sqlx::query("ALTER SYSTEM SET fsync = off").execute(&db).await?;
        sqlx::query("SELECT pg_reload_conf()").execute(&db).await?;
        db.close().await;
        Ok(me)
    }

    /// `pg_ctl restart -m fast`: every connection is cut, the server is back when this returns.
    pub async fn restart(&self) -> anyhow::Result<()> {
        let dir = self.dir.canonicalize()?;
        let pid = std::fs::read_to_string(dir.join("postmaster.pid"))?;
        let pid = pid.lines().next().context("an empty postmaster.pid")?.trim().to_owned();
        // The running server's own binary tells where its pg_ctl is.
        let bin = std::fs::read_link(format!("/proc/{pid}/exe"))?.with_file_name("pg_ctl");
        let owner = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&dir)?);
        let me = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata("/proc/self")?);
        let mut cmd = if owner == me { Command::new(&bin) } else { Command::new("runuser") };
        if owner != me {
            cmd.args(["-u", "postgres", "--"]).arg(&bin);
        }
        cmd.arg("-D").arg(&dir).arg("-l").arg(dir.join("server.log")).args(["-m", "fast", "-w", "restart"]);
        let out = tokio::task::spawn_blocking(move || cmd.output()).await??;
        if !out.status.success() {
            bail!("pg_ctl restart failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        drop(self.pg.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A Redis of the benchmark's own on `port`, without persistence: killed for an outage and
/// started again on the same port (empty, as a restarted cache is).
pub struct PrivateRedis {
    pub port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    pub async fn start() -> anyhow::Result<Self> {
        let mut r = Self { port: free_port()?, child: None };
        r.up().await?;
        Ok(r)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Starts the server and waits until it accepts connections.
    pub async fn up(&mut self) -> anyhow::Result<()> {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting redis-server (install it: apt-get install redis-server)")?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port)).await.is_err() {
            if Instant::now() > deadline {
                bail!("timed out after 10 s waiting for redis-server on port {}", self.port);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// `kill -9` of the server.
    pub fn down(&mut self) -> anyhow::Result<()> {
        if let Some(mut c) = self.child.take() {
            c.kill()?;
            c.wait()?;
        }
        Ok(())
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.down();
    }
}
