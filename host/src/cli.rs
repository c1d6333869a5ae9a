//! The `sdmd` command line: the server, maintenance commands, and a small client of the v1 API.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::Value;

use crate::config::ServeConfig;

mod plugin;

/// Self-hosted Docker management.
#[derive(Debug, Parser)]
#[command(name = "sdmd", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the client commands find the server.
#[derive(Debug, Clone, clap::Args)]
pub struct ClientOpts {
    /// Base URL of a running sdmd.
    #[arg(
        long,
        env = "SDMD_URL",
        default_value = "https://127.0.0.1:8443",
        global = true
    )]
    url: String,
    /// API token or user JWT.
    #[arg(long, env = "SDMD_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// Trust this PEM certificate (e.g. the server's self-signed `<data dir>/tls/cert.pem`). When
    /// unset, `$SDMD_DATA_DIR/tls/cert.pem` (default `./data/tls/cert.pem`) is trusted if it exists.
    #[arg(long, env = "SDMD_CACERT", global = true)]
    cacert: Option<PathBuf>,
    /// Skip certificate verification (testing only: anyone on the path can read your token).
    #[arg(long, env = "SDMD_INSECURE", global = true)]
    insecure: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeConfig),
    /// Apply database migrations and exit.
    Migrate(ServeConfig),
    /// Service commands.
    Services {
        #[command(subcommand)]
        command: ServicesCommand,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Create or update a service from a compose-style YAML (or JSON) file, then deploy it.
    ///
    /// The file's companions are sent with it, as in a compose project directory: the `.env`
    /// next to it, the members' `env_file`s and the `file:` of `secrets` and `configs`, by their
    /// paths relative to the file's directory (paths leaving it are refused).
    Apply {
        /// The definition file (`-` for standard input; companions are then read from the
        /// current directory).
        #[arg(short = 'f', long = "file")]
        file: PathBuf,
        /// Store the definition without deploying.
        #[arg(long)]
        no_deploy: bool,
        /// Enable members of this profile when deploying (repeatable; `*` = all).
        #[arg(long = "profile")]
        profiles: Vec<String>,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Print the last lines of a service's logs.
    Logs {
        /// Service name.
        name: String,
        /// Lines per container.
        #[arg(long, default_value_t = 100)]
        tail: u32,
        /// Keep printing new lines.
        #[arg(short, long)]
        follow: bool,
        #[command(flatten)]
        client: ClientOpts,
    },
    /// Plugin author tools: scaffold, inspect and test a plugin offline.
    Plugin {
        #[command(subcommand)]
        command: plugin::PluginCommand,
    },
    /// Apply the current definition to Docker.
    Deploy {
        #[command(flatten)]
        target: Target,
        /// Enable members of this profile (repeatable, or comma-separated; `*` = all).
        #[arg(long = "profile")]
        profiles: Vec<String>,
    },
    /// Start a service.
    Start(Target),
    /// Stop a service.
    Stop(Target),
    /// Restart a service.
    Restart(Target),
    /// Pull a service's images.
    Pull(Target),
    /// Pull and recreate what changed.
    Update(Target),
    /// Import an unmanaged service (compose project or container) as a managed definition.
    Adopt {
        #[command(flatten)]
        target: Target,
        /// Adopt even when a container has settings a definition cannot express; they are
        /// printed, and the first deploy will not reproduce them.
        #[arg(long)]
        accept_loss: bool,
    },
    /// Manage built-in users (talks to the database directly; passwords are read from stdin).
    User {
        #[command(subcommand)]
        command: UserCommand,
        #[command(flatten)]
        db: ServeConfig,
    },
    /// Manage API tokens from the host (talks to the database directly), e.g. to bootstrap automation.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
        #[command(flatten)]
        db: ServeConfig,
    },
    /// Audit log maintenance (talks to the database directly, as its owner).
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
        #[command(flatten)]
        db: ServeConfig,
    },
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from standard input (first line).
    Add {
        /// Email (the login name).
        email: String,
    },
    /// List users.
    List,
    /// Remove a user and end their sessions.
    Remove {
        /// Email.
        email: String,
    },
    /// Set a user's password (read from standard input) and end their sessions.
    Passwd {
        /// Email.
        email: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token and print its secret (shown once).
    Create {
        /// Unique name (letters, digits, `-`, `_`, `.`).
        name: String,
        /// Expire after this many days.
        #[arg(long)]
        expires_in_days: Option<u32>,
    },
    /// List active API tokens (name, prefix, expiry; never secrets).
    List,
    /// Revoke an API token by id.
    Revoke {
        /// Token id (from `sdmd token list`).
        id: uuid::Uuid,
    },
}

#[derive(Debug, Subcommand)]
enum AuditCommand {
    /// Check the hash chain (HMAC links under the key from `SDMD_SECRET_KEY`); names the first
    /// row whose link does not hold.
    Verify {
        /// Also compare the database with this `SDMD_AUDIT_SINK` file (JSON lines): reports rows
        /// rewritten, deleted or inserted in the database.
        #[arg(long)]
        against: Option<PathBuf>,
    },
    /// Delete rows older than the given age (at least 90 days); the prune is itself recorded.
    Prune {
        /// Age such as `120d` (days; a bare number means days too).
        #[arg(long)]
        older_than: String,
    },
}

#[derive(Debug, clap::Args)]
struct Target {
    /// Service name.
    name: String,
    #[command(flatten)]
    client: ClientOpts,
}

#[derive(Debug, Subcommand)]
enum ServicesCommand {
    /// List services with status.
    Ls {
        /// Print the raw JSON.
        #[arg(long)]
        json: bool,
    },
}

/// Entry point of the binary.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    let log_format = match &cli.command {
        Command::Serve(c) | Command::Migrate(c) => c.log_format.clone(),
        _ => "text".into(),
    };
    crate::server::init_tracing(&log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(cfg) => crate::server::serve(cfg).await,
        Command::Migrate(cfg) => {
            let (pool, embedded) = crate::server::open_database(&cfg).await?;
            pool.close().await;
            if let Some(pg) = embedded {
                pg.stop().await?;
            }
            println!("migrations applied");
            Ok(())
        }
        Command::Services {
            command: ServicesCommand::Ls { json },
            client,
        } => {
            let v = Client::new(&client)?
                .send(reqwest::Method::GET, "/api/v1/services", None)
                .await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&v)?);
            } else {
                print_services(&v);
            }
            Ok(())
        }
        Command::Apply {
            file,
            no_deploy,
            profiles,
            client,
        } => {
            apply(
                &Client::new(&client)?,
                &file,
                (!no_deploy).then_some(&profiles),
            )
            .await
        }
        Command::Logs {
            name,
            tail,
            follow,
            client,
        } => logs(&Client::new(&client)?, &name, tail, follow).await,
        Command::Plugin { command } => plugin::run(command).await,
        Command::Deploy { target, profiles } => {
            action_with(&target, "deploy", &profile_query(&profiles)).await
        }
        Command::Start(t) => action(&t, "start").await,
        Command::Stop(t) => action(&t, "stop").await,
        Command::Restart(t) => action(&t, "restart").await,
        Command::Pull(t) => action(&t, "pull").await,
        Command::Update(t) => action(&t, "update").await,
        Command::Adopt {
            target,
            accept_loss,
        } => adopt(&target, accept_loss).await,
        Command::User { command, db } => {
            with_database(&db, |pool| user_command(pool, command)).await
        }
        Command::Audit { command, db } => {
            with_database(&db, |pool| audit_command(pool, command)).await
        }
        Command::Token { command, db } => {
            with_database(&db, |pool| token_command(pool, command)).await
        }
    }
}

/// Runs `f` against the configured database (starting the embedded cluster if needed).
async fn with_database<F, Fut>(cfg: &ServeConfig, f: F) -> anyhow::Result<()>
where
    F: FnOnce(crate::db::PgPool) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    // Rows these commands write are linked under the server's key: use it, never invent one.
    let master = crate::secrets::master_key(cfg.secret_key.as_deref(), &cfg.data_dir, false)?
        .with_context(|| {
            format!(
                "no secret key: the audit log is linked under a key derived from SDMD_SECRET_KEY; set SDMD_SECRET_KEY to the server's, or SDMD_DATA_DIR to its data directory (no {} found)",
                cfg.data_dir.join("secret.key").display()
            )
        })?;
    crate::db::audit::install_key(crate::db::audit::AuditKey::derive(&master))
        .map_err(anyhow::Error::msg)?;
    let (pool, embedded) = crate::server::open_database(cfg).await?;
    let result = f(pool.clone()).await;
    pool.close().await;
    if let Some(pg) = embedded {
        pg.stop().await?;
    }
    result
}

fn read_password() -> anyhow::Result<String> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        eprint!("password (input is echoed; prefer piping it in): ");
    }
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from stdin")?;
    let pw = line.trim_end_matches(['\n', '\r']).to_owned();
    if pw.is_empty() {
        bail!("no password on standard input");
    }
    Ok(pw)
}

fn cli_actor() -> crate::db::audit::AuditContext {
    let who = std::env::var("SUDO_USER")
        .or_else(|_| std::env::var("USER"))
        .unwrap_or_else(|_| "unknown".into());
    crate::db::audit::AuditContext {
        actor: format!("cli:{who}"),
        ..Default::default()
    }
}

/// `sdmd user …`.
async fn user_command(pool: crate::db::PgPool, command: UserCommand) -> anyhow::Result<()> {
    use crate::auth::builtin;
    let ctx = cli_actor();
    let fail = |e: crate::auth::AuthError| anyhow::anyhow!("{e}");
    match command {
        UserCommand::Add { email } => {
            let pw = read_password()?;
            let u = builtin::add_user(&pool, &ctx, &email, &pw)
                .await
                .map_err(fail)?;
            println!("added {} ({})", u.email, u.id);
        }
        UserCommand::List => {
            println!(
                "{:<36}  {:<32}  {:<25}  LAST SIGN-IN",
                "ID", "EMAIL", "CREATED"
            );
            for u in crate::db::auth::list_users(&pool).await? {
                let last = u.last_sign_in_at.map_or("-".into(), |t| t.to_rfc3339());
                println!(
                    "{:<36}  {:<32}  {:<25}  {last}",
                    u.id,
                    u.email,
                    u.created_at.to_rfc3339()
                );
            }
        }
        UserCommand::Remove { email } => {
            builtin::remove_user(&pool, &ctx, &email)
                .await
                .map_err(fail)?;
            println!("removed {email}");
        }
        UserCommand::Passwd { email } => {
            let pw = read_password()?;
            builtin::set_password(&pool, &ctx, &email, &pw)
                .await
                .map_err(fail)?;
            println!("password changed for {email}; their sessions were ended");
        }
    }
    Ok(())
}

/// The retention floor of the audit log (PRD: kept at least 90 days; the database enforces it too).
pub const AUDIT_MIN_RETENTION_DAYS: u32 = 90;

/// Parses `120d` / `120` into days, refusing less than the retention floor.
pub fn parse_retention(s: &str) -> anyhow::Result<u32> {
    let digits = s.trim().strip_suffix('d').unwrap_or(s.trim());
    let days: u32 = digits
        .parse()
        .with_context(|| format!("`{s}` is not a number of days such as 120d"))?;
    if days < AUDIT_MIN_RETENTION_DAYS {
        bail!(
            "refusing to prune entries younger than {AUDIT_MIN_RETENTION_DAYS} days (asked for {days})"
        );
    }
    Ok(days)
}

/// `sdmd audit …`.
/// `sdmd token …`.
async fn token_command(pool: crate::db::PgPool, command: TokenCommand) -> anyhow::Result<()> {
    use crate::auth::tokens;
    let ctx = cli_actor();
    let fail = |e: crate::auth::AuthError| anyhow::anyhow!("{e}");
    match command {
        TokenCommand::Create {
            name,
            expires_in_days,
        } => {
            let expires =
                expires_in_days.map(|d| chrono::Utc::now() + chrono::Duration::days(i64::from(d)));
            let created = tokens::create(&pool, &ctx, &name, expires)
                .await
                .map_err(fail)?;
            eprintln!(
                "created API token {} ({}); the secret is shown only now:",
                created.token.name, created.token.id
            );
            println!("{}", created.secret);
        }
        TokenCommand::List => {
            println!(
                "{:<36}  {:<24}  {:<12}  {:<25}  LAST USED",
                "ID", "NAME", "PREFIX", "EXPIRES"
            );
            for t in tokens::list(&pool).await.map_err(fail)? {
                let expires = t.expires_at.map_or("never".into(), |e| e.to_rfc3339());
                let used = t.last_used_at.map_or("-".into(), |e| e.to_rfc3339());
                println!(
                    "{:<36}  {:<24}  {:<12}  {:<25}  {used}",
                    t.id, t.name, t.prefix, expires
                );
            }
        }
        TokenCommand::Revoke { id } => {
            tokens::revoke(&pool, &ctx, id).await.map_err(fail)?;
            println!("revoked {id}");
        }
    }
    Ok(())
}

async fn audit_command(pool: crate::db::PgPool, command: AuditCommand) -> anyhow::Result<()> {
    use crate::db::audit::{self, Verification};
    match command {
        AuditCommand::Verify { against } => {
            let chain = match audit::verify(&pool, audit::key()).await? {
                Verification::Intact {
                    rows,
                    first,
                    last,
                    legacy,
                    unhashed,
                    hmac_from,
                } => {
                    let range = match (first, last) {
                        (Some(f), Some(l)) => format!(" (ids {f}..={l})"),
                        _ => String::new(),
                    };
                    println!("audit chain intact: {rows} rows{range}");
                    println!(
                        "  HMAC-SHA256 links from id {hmac_from} on; {legacy} legacy rows below it (written before the HMAC anchor) checked as plain SHA-256 links{}",
                        if legacy > 0 {
                            ": they prove order and completeness, not origin"
                        } else {
                            ""
                        }
                    );
                    if unhashed > 0 {
                        println!(
                            "  {unhashed} rows written before the chain existed carry no hash"
                        );
                    }
                    Ok(())
                }
                Verification::Broken { id, reason } => {
                    Err(anyhow::anyhow!("audit chain broken at row {id}: {reason}"))
                }
            };
            let Some(path) = against else {
                return chain;
            };
            let cmp = crate::audit_sink::compare(&pool, audit::key(), &path).await?;
            for (id, what) in &cmp.problems {
                eprintln!("sink mismatch at row {id}: {what}");
            }
            println!(
                "sink {}: {} rows match, {} pruned, {} not exported yet, {} mismatches",
                path.display(),
                cmp.matched,
                cmp.pruned,
                cmp.pending,
                cmp.problems.len()
            );
            chain?;
            if !cmp.problems.is_empty() {
                bail!(
                    "the database disagrees with the audit sink {} ({} mismatches)",
                    path.display(),
                    cmp.problems.len()
                );
            }
            Ok(())
        }
        AuditCommand::Prune { older_than } => {
            let days = parse_retention(&older_than)?;
            let p = audit::prune(&pool, &cli_actor(), days).await?;
            let range = p
                .range
                .map_or(String::new(), |(lo, hi)| format!(" (ids {lo}..={hi})"));
            println!(
                "pruned {} audit rows older than {days} days{range}; recorded as row {}",
                p.deleted, p.row
            );
            Ok(())
        }
    }
}

struct Client {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl Client {
    fn new(o: &ClientOpts) -> anyhow::Result<Self> {
        let mut builder = reqwest::Client::builder();
        if o.insecure {
            builder = builder.danger_accept_invalid_certs(true);
        } else {
            let default_cert =
                PathBuf::from(std::env::var("SDMD_DATA_DIR").unwrap_or_else(|_| "./data".into()))
                    .join(crate::tls::AUTO_DIR)
                    .join(crate::tls::CERT_FILE);
            let cert = o
                .cacert
                .clone()
                .or_else(|| default_cert.exists().then_some(default_cert));
            if let Some(path) = cert {
                let pem =
                    std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
                let cert = reqwest::Certificate::from_pem(&pem)
                    .with_context(|| format!("parsing {}", path.display()))?;
                builder = builder.add_root_certificate(cert);
            }
        }
        Ok(Self {
            http: builder.build().context("building the HTTP client")?,
            base: o.url.trim_end_matches('/').to_owned(),
            token: o.token.clone(),
        })
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> anyhow::Result<Value> {
        let mut r = self.request(method, path);
        if let Some((ct, bytes)) = body {
            r = r.header(reqwest::header::CONTENT_TYPE, ct).body(bytes);
        }
        self.answer(r).await
    }

    /// Sends a `multipart/form-data` body.
    async fn send_form(
        &self,
        method: reqwest::Method,
        path: &str,
        form: reqwest::multipart::Form,
    ) -> anyhow::Result<Value> {
        self.answer(self.request(method, path).multipart(form))
            .await
    }

    async fn answer(&self, r: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let resp = r
            .send()
            .await
            .with_context(|| format!("cannot reach sdmd at {}", self.base))?;
        let status = resp.status();
        let text = resp.text().await?;
        let v: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        if !status.is_success() {
            bail!("{}", describe_error(status.as_u16(), &v));
        }
        Ok(v)
    }
}

fn describe_error(status: u16, v: &Value) -> String {
    let code = v.get("code").and_then(Value::as_str).unwrap_or("error");
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("request failed");
    let mut s = format!("{message} ({code}, HTTP {status})");
    match v.get("details") {
        Some(Value::Array(problems)) => {
            for p in problems {
                s.push_str(&format!("\n  {}", describe_problem(p)));
            }
        }
        Some(Value::String(d)) => s.push_str(&format!("\n  {d}")),
        _ => {}
    }
    s
}

/// One `details` entry: `field: message`, or for a setting adopt cannot express
/// `container: field = value: message`.
fn describe_problem(p: &Value) -> String {
    let get = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default();
    match p.get("container").and_then(Value::as_str) {
        Some(c) => format!(
            "{c}: {} = {}: {}",
            get("field"),
            get("value"),
            get("message")
        ),
        None => format!("{}: {}", get("field"), get("message")),
    }
}

async fn adopt(t: &Target, accept_loss: bool) -> anyhow::Result<()> {
    let client = Client::new(&t.client)?;
    let query = if accept_loss { "?accept_loss=true" } else { "" };
    // An id's `:` is sent as `%3A` (the API accepts either).
    let id = t.name.replace(':', "%3A");
    let v = client
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/services/{id}/adopt{query}"),
            None,
        )
        .await?;
    let name = v.get("name").and_then(Value::as_str).unwrap_or(&t.name);
    let rev = v.get("revision").and_then(Value::as_i64).unwrap_or(1);
    println!("adopted {name} (revision {rev}); `sdmd deploy {name}` replaces its containers");
    let dropped = v.get("dropped").and_then(Value::as_array);
    if let Some(dropped) = dropped.filter(|d| !d.is_empty()) {
        println!(
            "dropped {} setting(s) the definition cannot express (the first deploy will not reproduce them):",
            dropped.len()
        );
        for d in dropped {
            println!("  {}", describe_problem(d));
        }
    }
    Ok(())
}

fn print_services(v: &Value) {
    println!(
        "{:<28} {:<11} {:<12} {:>4}  CONTAINERS",
        "ID", "KIND", "STATUS", "REV"
    );
    for s in v
        .get("services")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let get = |k: &str| s.get(k).and_then(Value::as_str).unwrap_or("-").to_owned();
        let rev = s
            .get("revision")
            .and_then(Value::as_i64)
            .map_or("-".into(), |r| r.to_string());
        let containers: Vec<String> = s
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|c| {
                let name = c.get("name").and_then(Value::as_str).unwrap_or("?");
                let state = c.get("state").and_then(Value::as_str).unwrap_or("?");
                format!("{name}:{state}")
            })
            .collect();
        println!(
            "{:<28} {:<11} {:<12} {:>4}  {}",
            // The id, not the name: it is what the other commands accept for unmanaged services.
            s.get("id")
                .or_else(|| s.get("name"))
                .and_then(Value::as_str)
                .unwrap_or("-"),
            get("kind"),
            get("status"),
            rev,
            containers.join(" ")
        );
    }
}

/// `?profiles=a,b` for a deploy URL, or nothing.
fn profile_query(profiles: &[String]) -> String {
    if profiles.is_empty() {
        return String::new();
    }
    let joined = profiles.join(",");
    let mut q = String::from("?profiles=");
    for b in joined.bytes() {
        // Profile names are [a-zA-Z0-9_.-]; `*` and `,` are escaped anyway for any proxy.
        if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') {
            q.push(b as char);
        } else {
            q.push_str(&format!("%{b:02X}"));
        }
    }
    q
}

/// The files a compose file's project directory gives it, as (multipart part name, where the
/// document asks for it): the `.env` next to the file, each member's `env_file`s, and the
/// `file:` of top-level `secrets` and `configs`. Paths are as written, relative to the file's
/// directory. `required` is false for `.env` and `env_file` entries with `required: false`.
struct Companion {
    path: String,
    field: String,
    required: bool,
}

fn companions(doc: &Value) -> Vec<Companion> {
    let mut out = vec![Companion {
        path: ".env".into(),
        field: ".env".into(),
        required: false,
    }];
    for (m, svc) in doc
        .get("services")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let field = format!("services.{m}.env_file");
        let entry = |i: Option<usize>, v: &Value| {
            let field = match i {
                Some(i) => format!("{field}[{i}]"),
                None => field.clone(),
            };
            match v {
                Value::String(p) => Some(Companion {
                    path: p.clone(),
                    field,
                    required: true,
                }),
                Value::Object(o) => Some(Companion {
                    path: o.get("path")?.as_str()?.to_owned(),
                    field,
                    required: o.get("required").and_then(Value::as_bool).unwrap_or(true),
                }),
                _ => None,
            }
        };
        match svc.get("env_file") {
            Some(Value::Array(items)) => out.extend(
                items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| entry(Some(i), v)),
            ),
            Some(v) => out.extend(entry(None, v)),
            None => {}
        }
    }
    for top in ["secrets", "configs"] {
        for (k, d) in doc
            .get(top)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(p) = d.get("file").and_then(Value::as_str) {
                out.push(Companion {
                    path: p.to_owned(),
                    field: format!("{top}.{k}.file"),
                    required: true,
                });
            }
        }
    }
    out
}

/// Reads the companion files of a compose file in `dir`, keyed by their path in the project
/// (`./secrets/db` → `secrets/db`). A path that leaves `dir` — absolute, through `..`, or
/// through a symbolic link — is refused: SDMD keeps a service's files in its own project
/// directory, so such a file could not be found there.
fn read_companions(dir: &std::path::Path, doc: &Value) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let root = dir
        .canonicalize()
        .with_context(|| format!("reading {}", dir.display()))?;
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for c in companions(doc) {
        let mut rel = c.path.as_str();
        while let Some(rest) = rel.strip_prefix("./") {
            rel = rest;
        }
        let escapes = || {
            anyhow::anyhow!(
                "{}: `{}` is outside the compose file's directory {}: SDMD stores a service's files inside its project directory; move the file there and refer to it by a relative path",
                c.field,
                c.path,
                root.display()
            )
        };
        if rel.contains('$') {
            bail!(
                "{}: `{}` is interpolated; `sdmd apply` sends files by the paths the document names: write the path literally",
                c.field,
                c.path
            );
        }
        if crate::project::check_path(rel).is_err() {
            return Err(escapes());
        }
        // The path is the part's name, sent as is (servers read no `name*=` encoding).
        if rel.contains(['"', '\r', '\n']) {
            bail!(
                "{}: `{}` cannot be sent as a multipart part name: rename the file",
                c.field,
                c.path
            );
        }
        let path = root.join(rel);
        let real = match path.canonicalize() {
            Ok(p) => p,
            Err(_) if !c.required => continue,
            Err(e) => bail!("{}: cannot read `{}`: {e}", c.field, path.display()),
        };
        if !real.starts_with(&root) {
            return Err(escapes());
        }
        if out.iter().any(|(p, _)| p == rel) {
            continue;
        }
        let bytes = std::fs::read(&real)
            .with_context(|| format!("{}: reading {}", c.field, path.display()))?;
        out.push((rel.to_owned(), bytes));
    }
    Ok(out)
}

async fn apply(
    client: &Client,
    file: &PathBuf,
    deploy: Option<&Vec<String>>,
) -> anyhow::Result<()> {
    let stdin = file.as_os_str() == "-";
    let bytes = if stdin {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf)?;
        buf
    } else {
        std::fs::read(file).with_context(|| format!("reading {}", file.display()))?
    };
    let is_json = file.extension().is_some_and(|e| e == "json");
    let ct = if is_json {
        "application/json"
    } else {
        "application/yaml"
    };
    let doc: Value = if is_json {
        serde_json::from_slice(&bytes)?
    } else {
        crate::spec::yaml_document(&bytes).map_err(anyhow::Error::msg)?
    };
    let name = doc
        .get("name")
        .and_then(Value::as_str)
        .context("the document has no `name`")?
        .to_owned();
    // As compose: the project directory is the file's (the current one for standard input).
    let dir = match file
        .parent()
        .filter(|p| !stdin && !p.as_os_str().is_empty())
    {
        Some(d) => d.to_owned(),
        None => PathBuf::from("."),
    };
    let files = read_companions(&dir, &doc)?;
    let exists = match client
        .send(
            reqwest::Method::GET,
            &format!("/api/v1/services/{name}"),
            None,
        )
        .await
    {
        Ok(v) => v.get("kind").and_then(Value::as_str) == Some("managed"),
        Err(_) => false,
    };
    let (method, path) = if exists {
        (reqwest::Method::PUT, format!("/api/v1/services/{name}"))
    } else {
        (reqwest::Method::POST, "/api/v1/services".to_owned())
    };
    let v = if files.is_empty() {
        client.send(method, &path, Some((ct, bytes))).await?
    } else {
        // The compose file plus one part per file, named by its path in the project.
        let mut form = reqwest::multipart::Form::new().percent_encode_noop().part(
            "compose",
            reqwest::multipart::Part::bytes(bytes)
                .file_name(if is_json {
                    "compose.json"
                } else {
                    "compose.yaml"
                })
                .mime_str(ct)?,
        );
        for (p, content) in &files {
            form = form.part(
                p.clone(),
                reqwest::multipart::Part::bytes(content.clone()).file_name(p.clone()),
            );
        }
        client.send_form(method, &path, form).await?
    };
    let rev = v
        .get("revision")
        .and_then(Value::as_i64)
        .unwrap_or_default();
    let with = if files.is_empty() {
        String::new()
    } else {
        let names: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        format!(" with {}", names.join(", "))
    };
    println!(
        "{} {name} (revision {rev}){with}",
        if exists { "updated" } else { "created" }
    );
    for w in v
        .get("warnings")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        println!("warning: {}", describe_problem(w));
    }
    if let Some(profiles) = deploy {
        let r = client
            .send(
                reqwest::Method::POST,
                &format!("/api/v1/services/{name}/deploy{}", profile_query(profiles)),
                None,
            )
            .await?;
        println!("deployed: {}", summarize_report(&r));
    }
    Ok(())
}

fn summarize_report(r: &Value) -> String {
    let mut parts = Vec::new();
    for key in [
        "created",
        "recreated",
        "started",
        "stopped",
        "unchanged",
        "removed",
    ] {
        if let Some(list) = r
            .get(key)
            .and_then(Value::as_array)
            .filter(|l| !l.is_empty())
        {
            let names: Vec<&str> = list.iter().filter_map(Value::as_str).collect();
            parts.push(format!("{key}: {}", names.join(", ")));
        }
    }
    if parts.is_empty() {
        "nothing to do".into()
    } else {
        parts.join("; ")
    }
}

async fn action(t: &Target, verb: &str) -> anyhow::Result<()> {
    action_with(t, verb, "").await
}

/// [`action`] with a query string (`?profiles=…`) on the request.
async fn action_with(t: &Target, verb: &str, query: &str) -> anyhow::Result<()> {
    let client = Client::new(&t.client)?;
    let r = client
        .send(
            reqwest::Method::POST,
            &format!("/api/v1/services/{}/{verb}{query}", t.name),
            None,
        )
        .await?;
    match verb {
        "pull" | "update" => {
            let images = r.get("images").or_else(|| r.pointer("/pull/images"));
            for i in images.and_then(Value::as_array).into_iter().flatten() {
                let image = i.get("image").and_then(Value::as_str).unwrap_or("?");
                let changed = i.get("changed").and_then(Value::as_bool).unwrap_or(false);
                println!(
                    "{image}: {}",
                    if changed {
                        "new image pulled"
                    } else {
                        "up to date"
                    }
                );
            }
            if let Some(m) = r.get("members") {
                println!("{}: {}", t.name, summarize_report(m));
            }
        }
        _ => println!("{verb} {}: {}", t.name, summarize_report(&r)),
    }
    Ok(())
}

async fn logs(client: &Client, name: &str, tail: u32, follow: bool) -> anyhow::Result<()> {
    if !follow {
        let v = client
            .send(
                reqwest::Method::GET,
                &format!("/api/v1/services/{name}/logs?tail={tail}"),
                None,
            )
            .await?;
        for c in v
            .get("containers")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let cname = c.get("container").and_then(Value::as_str).unwrap_or("?");
            for l in c
                .get("lines")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let line = l.get("line").and_then(Value::as_str).unwrap_or_default();
                let ts = l.get("ts").and_then(Value::as_str).unwrap_or_default();
                println!("{cname} | {ts} {line}");
            }
        }
        return Ok(());
    }
    let resp = client
        .request(
            reqwest::Method::GET,
            &format!("/api/v1/services/{name}/logs?tail={tail}&follow=true"),
        )
        .send()
        .await
        .with_context(|| format!("cannot reach sdmd at {}", client.base))?;
    if !resp.status().is_success() {
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        bail!("{}", describe_error(status, &v));
    }
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    while let Some(chunk) = stream.next().await {
        buf.push_str(&String::from_utf8_lossy(&chunk?));
        while let Some(pos) = buf.find('\n') {
            let line: String = buf.drain(..=pos).collect();
            if let Some(data) = line.trim_end().strip_prefix("data:") {
                let v: Value = serde_json::from_str(data.trim()).unwrap_or(Value::Null);
                let cname = v.get("container").and_then(Value::as_str).unwrap_or("?");
                let text = v.get("line").and_then(Value::as_str).unwrap_or_default();
                println!("{cname} | {text}");
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companions_are_read_relative_to_the_file_and_never_outside() {
        let root = tempfile::tempdir().expect("tmp");
        let dir = root.path().join("stack");
        for (p, c) in [
            (".env", "A=1\n"),
            ("app.env", "B=2\n"),
            ("secrets/db", "pw"),
            ("tuning.cnf", "[x]"),
        ] {
            let p = dir.join(p);
            std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
            std::fs::write(p, c).expect("write");
        }
        let doc = serde_json::json!({
            "name": "s",
            "services": {"db": {"image": "x", "env_file": "./app.env"},
                         "b": {"image": "x", "env_file": [{"path": "gone.env", "required": false}, "app.env"]}},
            "secrets": {"db": {"file": "./secrets/db"}},
            "configs": {"cnf": {"file": "tuning.cnf"}},
        });
        let files = read_companions(&dir, &doc).expect("read");
        let paths: Vec<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, [".env", "app.env", "secrets/db", "tuning.cnf"]);
        assert_eq!(files[2].1, b"pw");
        for (doc, field) in [
            (
                serde_json::json!({"secrets": {"s": {"file": "/etc/passwd"}}}),
                "secrets.s.file",
            ),
            (
                serde_json::json!({"configs": {"c": {"file": "../x"}}}),
                "configs.c.file",
            ),
            (
                serde_json::json!({"services": {"m": {"env_file": "a/../../x"}}}),
                "services.m.env_file",
            ),
        ] {
            let e = read_companions(&dir, &doc).expect_err("escape").to_string();
            assert!(
                e.starts_with(field) && e.contains("outside the compose file's directory"),
                "{e}"
            );
        }
    }
}
