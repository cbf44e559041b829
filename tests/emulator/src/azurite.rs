//! Starting Azurite (real blob storage, npm `azurite`) beside the emulator, as the e2e harness and
//! the benchmarks do: over HTTPS with a certificate the emulator's CA signs, Entra tokens checked
//! (`--oauth basic`), in memory, with the given storage accounts.
//!
//! Caveat: Azurite only serves the accounts named at its start; an emulated storage account whose
//! name is not among them has no blob service.

use std::ffi::OsString;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{Config, Emulator, ServerError};

/// Key of every Azurite account (Azurite needs one; requests use Entra tokens).
pub const ACCOUNT_KEY: &str = "YWdlbnRwb29sLWxvY2FsLWF6dXJlLWtleQ==";

/// The certificate Azurite serves and the CA that signed it.
#[derive(Debug, Clone)]
pub struct Certificates {
    pub cert_file: PathBuf,
    pub key_file: PathBuf,
    pub ca_file: PathBuf,
}

impl Certificates {
    /// Made by an emulator started only for its certificate files, in `dir`.
    pub async fn make(dir: &Path) -> Result<Certificates, ServerError> {
        let mut config = Config::for_tests();
        config.state_dir = Some(dir.to_owned());
        let emulator = Emulator::start(config).await?;
        let ready = emulator.ready().clone();
        emulator.shutdown().await;
        Ok(Certificates { cert_file: ready.cert_file, key_file: ready.key_file, ca_file: ready.ca_file })
    }
}

/// `azurite-blob` (`node_modules/.bin`) on `port`, set up as described above, not yet spawned:
/// the caller chooses how it outlives or ends with its process.
pub fn command(azurite_blob: &Path, port: u16, certificates: &Certificates, accounts: &[String]) -> Command {
    let mut command = Command::new(azurite_blob);
    command.args(args(port, certificates)).env("AZURITE_ACCOUNTS", accounts_env(accounts));
    command
}

/// The arguments of [`command`].
pub fn args(port: u16, certificates: &Certificates) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()]
        .into_iter()
        .chain(["--inMemoryPersistence", "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose"])
        .chain(["--oauth", "basic"])
        .map(OsString::from)
        .collect();
    args.extend([
        "--cert".into(),
        certificates.cert_file.clone().into(),
        "--key".into(),
        certificates.key_file.clone().into(),
    ]);
    args
}

/// `AZURITE_ACCOUNTS`: every account with [`ACCOUNT_KEY`].
pub fn accounts_env(accounts: &[String]) -> String {
    accounts.iter().map(|a| format!("{a}:{ACCOUNT_KEY}")).collect::<Vec<_>>().join(";")
}

/// Waits until something listens on `port`; the error says how long it waited.
pub fn wait_until_listening(port: u16, within: Duration) -> Result<(), String> {
    let deadline = Instant::now() + within;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err(format!("Azurite did not listen on port {port} within {} s", within.as_secs()));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(())
}

/// A free TCP port on the loopback address.
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_and_arguments() {
        assert_eq!(accounts_env(&["a".into(), "b".into()]), format!("a:{ACCOUNT_KEY};b:{ACCOUNT_KEY}"));
        let certificates =
            Certificates { cert_file: "c.pem".into(), key_file: "k.pem".into(), ca_file: "ca.pem".into() };
        let args: Vec<String> = args(4711, &certificates).into_iter().map(|a| a.into_string().unwrap()).collect();
        assert_eq!(args[..4], ["--blobHost", "127.0.0.1", "--blobPort", "4711"]);
        assert!(args.ends_with(&["--cert".into(), "c.pem".into(), "--key".into(), "k.pem".into()]));
        assert!(args.contains(&"--oauth".to_owned()) && args.contains(&"--inMemoryPersistence".to_owned()));
    }
}
