//! Image Builder against a real blob service: Azurite (from `tests/node`, like oav) started with the
//! emulator's certificate and `--oauth basic`. The scripts are read from Azurite with a storage token the
//! emulator issues, and `customization.log` grows in Azurite's `--staging-account` while the build runs.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use agentpool_emulator::Config;
use reqwest::{Method, StatusCode};

use crate::image_builder::{create, fixture, quick, template, template_path, upload, AIB_API, SCRIPT};
use crate::support::Harness;

const KEY: &str = "YWdlbnRwb29sLWxvY2FsLWF6dXJlLWtleQ==";

/// Azurite's blob service, stopped when dropped.
struct Azurite {
    child: Child,
    port: u16,
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn azurite_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../node/node_modules/.bin/azurite-blob")
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start_azurite(port: u16, cert: &std::path::Path, key: &std::path::Path, accounts: &[&str]) -> Azurite {
    let bin = azurite_bin();
    assert!(bin.exists(), "Azurite missing at {} (run `npm ci` in tests/node)", bin.display());
    let accounts: Vec<String> = accounts.iter().map(|a| format!("{a}:{KEY}")).collect();
    let child = Command::new(bin)
        .env("AZURITE_ACCOUNTS", accounts.join(";"))
        .args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()])
        .args(["--inMemoryPersistence", "--silent", "--disableTelemetry", "--skipApiVersionCheck", "--loose"])
        .args(["--oauth", "basic", "--cert"])
        .arg(cert)
        .arg("--key")
        .arg(key)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Azurite starts");
    let azurite = Azurite { child, port };
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "Azurite did not listen on {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
    azurite
}

#[tokio::test]
async fn build_reads_scripts_from_and_writes_its_log_to_the_blob_service() {
    let port = free_port();
    let mut config = Config::for_tests();
    quick(&mut config);
    config.blob_service = true;
    config.blob_endpoint_template = format!("https://127.0.0.1:{port}/{{account}}/");
    let h = Harness::start(config).await;
    let ready = h.ready().clone();
    let azurite = start_azurite(port, &ready.cert_file, &ready.key_file, &["aibscripts", "aibstaging"]);
    let storage = h.token_for("https://storage.azure.com/.default").await;
    let blob = |path: &str| {
        h.http
            .request(Method::GET, format!("https://127.0.0.1:{}/{path}", azurite.port))
            .bearer_auth(&storage)
            .header("x-ms-version", "2021-10-04")
    };

    let fx = fixture(&h, true).await;
    upload(&h, "aibscripts", "scripts/install.sh", SCRIPT).await;
    let script = blob("aibscripts/scripts/install.sh").send().await.unwrap();
    assert_eq!(script.text().await.unwrap(), SCRIPT, "the script is in Azurite");

    let path = template_path(&fx, "it-azurite");
    assert_eq!(create(&h, &path, template(&fx)).await["status"], "Succeeded");
    let deadline = Instant::now() + Duration::from_secs(10);
    while blob("aibstaging/packerlogs?restype=container").send().await.unwrap().status() != StatusCode::OK {
        assert!(Instant::now() < deadline, "the packerlogs container never appeared in Azurite");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let r = h.call(Method::POST, &format!("{path}/run?api-version={AIB_API}"), None).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let operation = r.header("azure-asyncoperation").unwrap();
    let mut log_path = None;
    let mut sizes: Vec<usize> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let status = h.get(&format!("{path}?api-version={AIB_API}")).await.body["properties"]["lastRunStatus"].clone();
        if status["runState"] != "Running" {
            assert_eq!(status["runState"], "Succeeded", "{status}");
            break;
        }
        if log_path.is_none() {
            let list =
                blob("aibstaging/packerlogs?restype=container&comp=list").send().await.unwrap().text().await.unwrap();
            log_path = list.split("<Name>").nth(1).and_then(|rest| rest.split("</Name>").next()).map(str::to_string);
        }
        if let (Some(p), Some("Customizing")) = (&log_path, status["runSubState"].as_str()) {
            let text = blob(&format!("aibstaging/packerlogs/{p}")).send().await.unwrap().text().await.unwrap();
            let lines = text.lines().count();
            if sizes.last() != Some(&lines) {
                sizes.push(lines);
            }
        }
        assert!(Instant::now() < deadline, "build never ended");
        tokio::time::sleep(Duration::from_millis(15)).await;
    }
    assert_eq!(h.wait_async_operation(&operation).await["status"], "Succeeded");
    assert!(sizes.len() >= 3, "the blob grows while customizing: {sizes:?}");
    let log_path = log_path.expect("a log blob");
    assert!(log_path.ends_with("/customization.log"), "{log_path}");
    // Uploads follow the build within a tick.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let text = blob(&format!("aibstaging/packerlogs/{log_path}")).send().await.unwrap().text().await.unwrap();
    assert!(text.contains("azure-arm: Installing tools") && text.contains("Builds finished"), "{text}");
    let admin = h.http.get(h.url("/_emulator/logs/it-azurite")).send().await.unwrap().text().await.unwrap();
    assert_eq!(text, admin);
    let version = h.get(&format!("{}/versions/1.0.0?api-version={}", fx.image_id, crate::support::GALLERY_API)).await;
    assert_eq!(version.status, StatusCode::OK);
    h.stop().await;
    drop(azurite);
}
