//! The `agora` command: `serve` (the default), `migrate`, `createsuperuser`, `openapi`.

use std::process::ExitCode;

use agora::app;
use agora::config::{SecretSource, Settings};
use agora::db;
use agora::error::ApiError;
use agora::users::accounts::NewAccount;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

// glibc malloc spent about a sixth of the server's time under load (perf), much of it in
// arena locking and consolidation; mimalloc is measured in the commit that added it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "agora",
    version,
    about = "Self-hostable backend for social apps"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default when no command is given).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Create a staff superuser.
    Createsuperuser {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Also read from AGORA_SUPERUSER_PASSWORD; prompted for when neither is given.
        #[arg(long, env = "AGORA_SUPERUSER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Print the OpenAPI document as JSON.
    Openapi,
    /// Fill an empty database with a community of a real size, for measuring (agora-bench
    /// --lists): 100,000 users and millions of rows at --scale 1.
    Seed {
        /// A fraction of the full community (0.01 is a hundredth).
        #[arg(long, default_value_t = 1.0)]
        scale: f64,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Openapi) = cli.command {
        return match agora::app::openapi().to_pretty_json() {
            Ok(json) => {
                // `writeln!`, not `println!`: a reader that stops early (`agora openapi | head`)
                // closes the pipe, which is no reason to panic.
                use std::io::Write;
                let mut out = std::io::stdout().lock();
                match writeln!(out, "{json}") {
                    Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                        eprintln!("error: {e}");
                        ExitCode::FAILURE
                    }
                    _ => ExitCode::SUCCESS,
                }
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let (settings, secret) = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_new(&settings.log).unwrap_or_else(|_| EnvFilter::new("info")),
        )
        // Colours only on a terminal: a log written to a file stays plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    if let SecretSource::Generated(path) = &secret {
        tracing::warn!(path = %path.display(), "AGORA_SECRET_KEY is not set; generated one and stored it. Set AGORA_SECRET_KEY in production.");
    }
    if let Some(path) = &settings.push.vapid_generated {
        tracing::warn!(path = %path.display(), "AGORA_VAPID_PRIVATE_KEY is not set; generated a VAPID key pair and stored it. Every instance must share one key: set AGORA_VAPID_PRIVATE_KEY in production.");
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::Createsuperuser {
            username,
            email,
            password,
        } => create_superuser(settings, username, email, password).await,
        Command::Openapi => Ok(()),
        Command::Seed { scale } => seed(settings, scale).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> Result<(), String> {
    let bind = settings.bind;
    let state = agora::app::state(settings)
        .await
        .map_err(|e| format!("could not start: {}", describe(&e)))?;
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| format!("could not listen on {bind} (AGORA_BIND): {e}"))?;
    tracing::info!(address = %bind, "serving the Agora API");
    app::serve(state, listener, app::shutdown_signal())
        .await
        .map_err(|e| e.to_string())
}

async fn migrate(settings: Settings) -> Result<(), String> {
    let conn = db::connect(
        &settings.database_url,
        agora::config::Pool {
            min: 0,
            max: 2,
            ..settings.database_pool
        },
        Default::default(),
        Default::default(),
    )
    .await
    .map_err(|e| format!("database: {e}"))?;
    db::migrate(&conn)
        .await
        .map_err(|e| format!("migration failed: {e}"))?;
    println!("migrations applied");
    Ok(())
}

async fn create_superuser(
    settings: Settings,
    username: String,
    email: String,
    password: Option<String>,
) -> Result<(), String> {
    let password = match password {
        Some(p) => p,
        None => prompt_password()?,
    };
    let state = agora::app::state(settings)
        .await
        .map_err(|e| describe(&e))?;
    // The same use case as registration, so the same rules; a staff superuser.
    let user = agora::users::accounts::create(
        &state,
        NewAccount {
            username: Some(username),
            email: Some(email),
            password: Some(password.into()),
            first_name: None,
            last_name: None,
            staff: true,
        },
    )
    .await
    .map_err(|e| describe(&e))?;
    println!("superuser {} created (id {})", user.username, user.id);
    Ok(())
}

async fn seed(settings: Settings, scale: f64) -> Result<(), String> {
    if !(scale.is_finite() && scale > 0.0 && scale <= 10.0) {
        return Err("--scale must be above 0 and at most 10".into());
    }
    let state = agora::app::state(settings)
        .await
        .map_err(|e| describe(&e))?;
    let set = agora::seed::Dataset::scaled(scale);
    let started = std::time::Instant::now();
    let seeded = agora::seed::run(&state, set)
        .await
        .map_err(|e| describe(&e))?;
    for (table, rows) in &seeded.rows {
        println!("{table:>16} {rows:>10}");
    }
    println!(
        "seeded in {:.1} s; every account's password is {:?} (u1: {} friends and {} rooms; u2: {} unread notifications)",
        started.elapsed().as_secs_f64(),
        agora::seed::PASSWORD,
        set.hub_friends,
        (set.rooms - set.groups).min(369).min(set.hub_friends) + 1,
        set.inbox,
    );
    Ok(())
}

fn prompt_password() -> Result<String, String> {
    use std::io::{BufRead, IsTerminal, Write};
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password: ");
        std::io::stderr().flush().map_err(|e| e.to_string())?;
    }
    let mut line = String::new();
    stdin
        .lock()
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let p = line.trim_end_matches(['\r', '\n']).to_owned();
    if p.is_empty() {
        return Err(
            "a password is required (--password, AGORA_SUPERUSER_PASSWORD or stdin)".into(),
        );
    }
    Ok(p)
}

fn describe(e: &ApiError) -> String {
    match e {
        ApiError::Db(d) => format!("database: {d}"),
        // `field: message` per problem, as the API's `{"field": [messages]}`.
        ApiError::Fields(f) => match f.to_value() {
            serde_json::Value::Object(fields) => fields
                .iter()
                .map(|(field, messages)| {
                    let text: Vec<&str> = messages
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(serde_json::Value::as_str)
                        .collect();
                    format!("{field}: {}", text.join(" "))
                })
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        },
        ApiError::Internal(s) => s.clone(),
        other => other.to_string(),
    }
}
