//! The `agora` command: `serve` (the default), `migrate`, `createsuperuser`, `openapi`.

use std::process::ExitCode;

use agora::app;
use agora::config::{SecretSource, Settings};
use agora::error::ApiError;
use agora::users::fields::{Email, Username};
use agora::users::store::{self as user_store, NewUser};
use agora::{db, security};
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
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(settings).await,
        Command::Migrate => migrate(settings).await,
        Command::Createsuperuser {
            username,
            email,
            password,
        } => create_superuser(settings, username, email, password).await,
        Command::Openapi => Ok(()),
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
        agora::config::Pool { min: 0, max: 2 },
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
    let username = Username::parse(&username).map_err(|e| format!("username: {e}"))?;
    let email = Email::parse(&email).map_err(|e| format!("email: {e}"))?;
    let password = match password {
        Some(p) => p,
        None => prompt_password()?,
    };
    let problems = security::passwords::validate(
        &password,
        &security::passwords::UserAttributes {
            username: username.as_str(),
            email: email.as_str(),
            ..Default::default()
        },
    );
    if !problems.is_empty() {
        return Err(format!("password: {}", problems.join(" ")));
    }
    let state = agora::app::state(settings)
        .await
        .map_err(|e| describe(&e))?;
    if user_store::login_taken(&state.db, username.as_str(), None)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("username: A user with that username already exists.".into());
    }
    if user_store::login_taken(&state.db, email.as_str(), None)
        .await
        .map_err(|e| e.to_string())?
    {
        return Err("email: A user with that email already exists.".into());
    }
    let hash = state
        .passwords
        .hash(password.into())
        .await
        .map_err(|e| describe(&e))?;
    let user = user_store::insert(
        &state.db,
        NewUser {
            username: username.into_inner(),
            email: email.into_inner(),
            password_hash: hash,
            first_name: String::new(),
            last_name: String::new(),
            is_staff: true,
            is_superuser: true,
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    println!("superuser {} created (id {})", user.username, user.id);
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
        ApiError::Internal(s) => s.clone(),
        other => other.to_string(),
    }
}
