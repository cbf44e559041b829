//! `agentpool-emulator`: serves until SIGTERM or SIGINT after printing one ready line of JSON on stdout.

use std::io::Write;
use std::process::ExitCode;

use agentpool_emulator::{Config, Emulator};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AGENTPOOL_EMULATOR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let config = Config::parse();
    let emulator = match Emulator::start(config).await {
        Ok(e) => e,
        Err(e) => {
            eprintln!("agentpool-emulator: {e}");
            return ExitCode::from(2);
        }
    };
    let line = match serde_json::to_string(emulator.ready()) {
        Ok(line) => line,
        Err(e) => {
            eprintln!("agentpool-emulator: {e}");
            return ExitCode::FAILURE;
        }
    };
    {
        let mut stdout = std::io::stdout().lock();
        if writeln!(stdout, "{line}").and_then(|_| stdout.flush()).is_err() {
            eprintln!("agentpool-emulator: cannot write the ready line");
        }
    }
    wait_for_signal().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}

#[cfg(unix)]
async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() {
    let _ = tokio::signal::ctrl_c().await;
}
