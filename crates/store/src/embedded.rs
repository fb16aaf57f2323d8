//! A private PostgreSQL for the local roles (`demo`, `all`) when DATABASE_URL is unset: started
//! from the machine's own PostgreSQL binaries in a data folder inside the checkout, created on
//! first use, reused after, stopped when the guard is dropped.

use anyhow::{Context, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct EmbeddedPostgres {
    bin: PathBuf,
    data: PathBuf,
    as_postgres_user: bool,
    started_here: bool,
    pub url: String,
}

/// The directory of the newest installed PostgreSQL's binaries.
fn find_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").exists() {
            return Ok(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p): &(u32, PathBuf)| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions
        .pop()
        .map(|(_, p)| p)
        .context("no PostgreSQL binaries found (install the `postgresql` package, or set DATABASE_URL)")
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

impl EmbeddedPostgres {
    /// Starts (or reuses) the private server in `data` on `port` and makes sure `database` exists.
    pub fn start(data: &Path, port: u16, database: &str) -> anyhow::Result<Self> {
        let bin = find_bin_dir()?;
        std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
        let data = data.canonicalize()?;
        let as_postgres_user = is_root();
        let mut me = Self {
            bin,
            data: data.clone(),
            as_postgres_user,
            started_here: false,
            url: format!("postgres://postgres@127.0.0.1:{port}/{database}"),
        };
        if as_postgres_user {
            // PostgreSQL refuses to run as root; the data folder belongs to the postgres user.
            me.run_plain("chown", &["-R", "postgres:postgres", &data.to_string_lossy()])?;
        }
        if !data.join("PG_VERSION").exists() {
            tracing::info!(dir = %data.display(), "creating the private PostgreSQL data folder");
            me.run_pg(
                "initdb",
                &["-D", &data.to_string_lossy(), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"],
            )?;
        }
        let running = me
            .pg_command("pg_ctl", &["-D", &data.to_string_lossy(), "status"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !running {
            let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c max_connections=200", data.display());
            me.run_pg(
                "pg_ctl",
                &[
                    "-D",
                    &data.to_string_lossy(),
                    "-o",
                    &opts,
                    "-l",
                    &data.join("server.log").to_string_lossy(),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )?;
            me.started_here = true;
            tracing::info!(port, "private PostgreSQL started");
        }
        let exists = me.psql(port, &format!("SELECT 1 FROM pg_database WHERE datname = '{database}'"))?;
        if exists.trim() != "1" {
            me.psql(port, &format!("CREATE DATABASE \"{database}\""))?;
        }
        Ok(me)
    }

    fn pg_command(&self, tool: &str, args: &[&str]) -> Command {
        let exe = self.bin.join(tool);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe).args(args);
            c
        } else {
            let mut c = Command::new(exe);
            c.args(args);
            c
        }
    }

    fn run_pg(&self, tool: &str, args: &[&str]) -> anyhow::Result<()> {
        let out = self.pg_command(tool, args).output().with_context(|| format!("running {tool}"))?;
        if !out.status.success() {
            bail!("{tool} failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        }
        Ok(())
    }

    fn run_plain(&self, cmd: &str, args: &[&str]) -> anyhow::Result<()> {
        let st = Command::new(cmd).args(args).status().with_context(|| format!("running {cmd}"))?;
        if !st.success() {
            bail!("{cmd} failed");
        }
        Ok(())
    }

    fn psql(&self, port: u16, sql: &str) -> anyhow::Result<String> {
        let port = port.to_string();
        let out = self
            .pg_command("psql", &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", "postgres", "-tAc", sql])
            .output()
            .context("running psql")?;
        if !out.status.success() {
            bail!("psql failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

impl Drop for EmbeddedPostgres {
    fn drop(&mut self) {
        if self.started_here {
            let data = self.data.to_string_lossy().into_owned();
            match self.pg_command("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]).output() {
                Ok(o) if o.status.success() => tracing::info!("private PostgreSQL stopped"),
                _ => tracing::warn!("private PostgreSQL did not stop cleanly"),
            }
        }
    }
}
