//! The `agentpool-emulator` binary: one ready line of JSON, then serving until SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::Value;

use crate::support::{client, read, temp_dir};

#[tokio::test]
async fn binary_prints_ready_line_and_stops_on_sigterm() {
    let dir = temp_dir("binary");
    let mut child = Command::new(env!("CARGO_BIN_EXE_agentpool-emulator"))
        .args(["--port", "0", "--state-dir"])
        .arg(&dir)
        .env_remove("AGENTPOOL_TRAFFIC_DIR")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("emulator binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).expect("ready line");
    let ready: Value = serde_json::from_str(&line).expect("ready line is JSON");
    for key in ["armEndpoint", "authorityHost", "caFile", "tenantId", "subscriptionId", "clientId", "clientSecret"] {
        assert!(ready[key].as_str().is_some_and(|v| !v.is_empty()), "{key} in {line}");
    }
    assert!(ready["armEndpoint"].as_str().unwrap().starts_with("https://127.0.0.1:"));
    assert_eq!(ready["caFile"].as_str().unwrap(), dir.join("ca.pem").to_str().unwrap());
    for file in ["ca.pem", "server.pem", "server-key.pem"] {
        assert!(dir.join(file).exists(), "{file}");
    }

    let http = client(&dir.join("ca.pem"), true);
    let url = format!("{}/_emulator/health", ready["armEndpoint"].as_str().unwrap());
    let r = read(http.get(&url).send().await.expect("health over https")).await;
    assert_eq!(r.status, StatusCode::OK);
    let localhost = url.replace("127.0.0.1", "localhost");
    assert_eq!(http.get(&localhost).send().await.expect("cert covers localhost").status(), StatusCode::OK);

    let killed = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().expect("kill");
    assert!(killed.success());
    let status = child.wait().expect("exit");
    assert!(status.success(), "{status:?}");
    crate::support::cleanup(&[&dir]);
}
