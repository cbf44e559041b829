//! Following Image Builder's customization log while a build runs.
//!
//! Image Builder writes `packerlogs/<run guid>/customization.log` into the storage account of
//! the template's staging resource group (`properties.exactStagingResourceGroup`), one folder per
//! run, and keeps the logs of earlier runs there. The log followed is the one of the run being
//! waited for ([`log_of_run`]): written after that run's `lastRunStatus.startTime`. Until it
//! appears nothing is shown (never an earlier run's lines); when the template reports another run,
//! the log of that run is looked for afresh. Each look reads only what was appended since the
//! last one.
//!
//! Caveats: reading the log is best effort. It is read with Entra ID, so the identity that waits
//! needs the data action `Microsoft.Storage/storageAccounts/blobServices/containers/blobs/read`
//! on the staging resource group or the subscription (Storage Blob Data Reader: Owner and
//! Contributor carry no data actions, and the staging group only exists once the template does);
//! when the read fails, the build is still followed and one note says why the log is missing. Blob listings give times to the second, so
//! a log counts as the run's only once it was written in a later second than the run's start: a
//! log last written in the second the run started (the previous run's, which ended just then) is
//! never taken for it, and the run's own log is taken from its next write on. A run that ended
//! settles it: Image Builder's failure message names its log ([`BuildLog::finish`]), so a run that
//! failed within the second it started still shows its own log's last lines.

use std::collections::VecDeque;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Url};
use azure_storage_blob::models::{BlobClientDownloadOptions, BlobItem};
use azure_storage_blob::{BlobClient, BlobContainerClient, BlobContainerClientOptions};
use futures::TryStreamExt;
use serde_json::Value;
use time::OffsetDateTime;

use crate::arm::ArmClient;
use crate::resources::storage_account;

/// Lines kept for the failure report.
pub const TAIL_LINES: usize = 50;

/// The log of one run of a template, read incrementally.
pub struct BuildLog {
    credential: Arc<dyn TokenCredential>,
    options: ClientOptions,
    /// The staging storage's `packerlogs` container, once found.
    container: Option<BlobContainerClient>,
    /// Start of the run whose log is followed.
    run_start: Option<OffsetDateTime>,
    blob: Option<BlobClient>,
    offset: u64,
    lines: LineBuffer,
    /// Why the log cannot be read, once known (reported once).
    pub unavailable: Option<String>,
}

impl BuildLog {
    pub fn new(credential: Arc<dyn TokenCredential>, options: ClientOptions) -> Self {
        Self {
            credential,
            options,
            container: None,
            run_start: None,
            blob: None,
            offset: 0,
            lines: LineBuffer::default(),
            unavailable: None,
        }
    }

    /// Complete lines appended since the last call to the log of the run that started at
    /// `run_start`; finds that log first when needed (none yet: no lines). Another run than the
    /// last call's starts over: its log, from its first line.
    pub async fn new_lines(
        &mut self,
        arm: &ArmClient,
        template: &Value,
        run_start: OffsetDateTime,
    ) -> Result<Vec<String>, String> {
        if self.run_start != Some(run_start) {
            self.run_start = Some(run_start);
            self.blob = None;
            self.offset = 0;
            self.lines = LineBuffer::default();
        }
        if self.blob.is_none() {
            match self.locate(arm, template, run_start).await? {
                Some(blob) => self.blob = Some(blob),
                None => return Ok(Vec::new()),
            }
        }
        let Some(blob) = &self.blob else { return Ok(Vec::new()) };
        let length = match blob.get_properties(None).await {
            Ok(response) => response
                .headers()
                .get_optional_str(&azure_core::http::headers::HeaderName::from_static("content-length"))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0),
            Err(error) => return Err(format!("cannot read the build log: {}", first_line(&error.to_string()))),
        };
        if length <= self.offset {
            return Ok(Vec::new());
        }
        let options = BlobClientDownloadOptions { range: Some((self.offset..length).into()), ..Default::default() };
        let body = blob
            .download(Some(options))
            .await
            .map_err(|e| format!("cannot read the build log: {}", first_line(&e.to_string())))?
            .body
            .collect()
            .await
            .map_err(|e| format!("cannot read the build log: {}", first_line(&e.to_string())))?;
        self.offset = length;
        Ok(self.lines.push(&String::from_utf8_lossy(&body)))
    }

    /// The rest of the log of a run that ended: Image Builder's failure message names the run's
    /// log (`Image Build log location: …/packerlogs/<run>/customization.log`), which settles which
    /// log is the run's even when the run ended in the second it started (where
    /// [`log_of_run`] cannot tell it from an earlier run's). Without such a message, the log
    /// followed so far is read to its end.
    pub async fn finish(
        &mut self,
        arm: &ArmClient,
        template: &Value,
        run_start: OffsetDateTime,
        message: &str,
    ) -> Result<Vec<String>, String> {
        if let Some(named) = named_log(message) {
            if self.blob.as_ref().is_none_or(|blob| !blob.url().path().ends_with(&format!("/{named}"))) {
                if self.container.is_none() {
                    self.container = self.find_container(arm, template).await?;
                }
                if let Some(container) = &self.container {
                    self.run_start = Some(run_start);
                    self.blob = Some(container.blob_client(&named));
                    self.offset = 0;
                    self.lines = LineBuffer::default();
                }
            }
        }
        self.new_lines(arm, template, run_start).await
    }

    /// The last [`TAIL_LINES`] lines read so far of the run's log.
    pub fn tail(&self) -> Vec<String> {
        self.lines.tail.iter().cloned().collect()
    }

    /// The log of the run that started at `run_start`, once Image Builder made it.
    async fn locate(
        &mut self,
        arm: &ArmClient,
        template: &Value,
        run_start: OffsetDateTime,
    ) -> Result<Option<BlobClient>, String> {
        if self.container.is_none() {
            self.container = self.find_container(arm, template).await?;
        }
        let Some(container) = &self.container else { return Ok(None) };
        let items: Vec<BlobItem> = match container.list_blobs(None) {
            Ok(pager) => match pager.try_collect().await {
                Ok(items) => items,
                Err(e) if e.http_status() == Some(azure_core::http::StatusCode::NotFound) => return Ok(None),
                Err(e) => return Err(format!("cannot list the build logs: {}", first_line(&e.to_string()))),
            },
            Err(e) => return Err(e.to_string()),
        };
        let listed: Vec<ListedLog> = items.into_iter().filter_map(ListedLog::of).collect();
        Ok(log_of_run(&listed, run_start).map(|log| container.blob_client(&log.name)))
    }

    /// The `packerlogs` container of the template's staging storage account, once it has one.
    async fn find_container(&self, arm: &ArmClient, template: &Value) -> Result<Option<BlobContainerClient>, String> {
        let Some(group) = template.pointer("/properties/exactStagingResourceGroup").and_then(Value::as_str) else {
            return Ok(None);
        };
        let accounts = arm
            .list(&format!("{group}/providers/Microsoft.Storage/storageAccounts"), storage_account::KIND.api_version)
            .await
            .map_err(|e| format!("cannot list the staging storage: {e}"))?;
        let Some(endpoint) =
            accounts.iter().find_map(|a| a.pointer("/properties/primaryEndpoints/blob").and_then(Value::as_str))
        else {
            return Ok(None);
        };
        let url = Url::parse(&format!("{}/packerlogs", endpoint.trim_end_matches('/'))).map_err(|e| e.to_string())?;
        let options = BlobContainerClientOptions { client_options: self.options.clone(), ..Default::default() };
        BlobContainerClient::new(url, Some(self.credential.clone()), Some(options)).map(Some).map_err(|e| e.to_string())
    }
}

/// A `<run guid>/customization.log` as the container listing shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedLog {
    pub name: String,
    /// `Creation-Time`, when the listing gives it.
    pub created: Option<OffsetDateTime>,
    /// `Last-Modified`.
    pub modified: Option<OffsetDateTime>,
}

impl ListedLog {
    /// The listed blob, if it is a run's customization log.
    fn of(item: BlobItem) -> Option<Self> {
        let name = item.name.filter(|n| n.ends_with("/customization.log"))?;
        let properties = item.properties.unwrap_or_default();
        Some(Self { name, created: properties.creation_time, modified: properties.last_modified })
    }
}

/// The log of the run that started at `run_start`: one written in a later second than the start
/// (listings have whole seconds) and not created before it; of several, the first created (a
/// later run's log is newer). `None` until the run's log appears.
pub fn log_of_run(listed: &[ListedLog], run_start: OffsetDateTime) -> Option<&ListedLog> {
    let second = run_start.replace_nanosecond(0).unwrap_or(run_start);
    listed
        .iter()
        .filter(|log| {
            log.modified.is_some_and(|modified| modified > second)
                && log.created.is_none_or(|created| created >= second)
        })
        .min_by_key(|log| log.created.or(log.modified))
}

/// The `<run>/customization.log` that Image Builder's message names after
/// `Image Build log location: `, if any.
pub fn named_log(message: &str) -> Option<String> {
    let location = message.split("Image Build log location: ").nth(1)?.split_whitespace().next()?;
    let path = location.split_once("/packerlogs/")?.1.trim_end_matches(['.', ',']);
    let (run, file) = path.split_once('/')?;
    (file == "customization.log" && !run.is_empty()).then(|| format!("{run}/{file}"))
}

/// Text read in pieces, cut into whole lines; the last [`TAIL_LINES`] are kept.
#[derive(Debug, Default)]
struct LineBuffer {
    partial: String,
    tail: VecDeque<String>,
}

impl LineBuffer {
    /// The lines `text` completes.
    fn push(&mut self, text: &str) -> Vec<String> {
        self.partial.push_str(text);
        let mut lines = Vec::new();
        while let Some(end) = self.partial.find('\n') {
            let line = self.partial[..end].trim_end_matches('\r').to_owned();
            self.partial.drain(..=end);
            if self.tail.len() == TAIL_LINES {
                self.tail.pop_front();
            }
            self.tail.push_back(line.clone());
            lines.push(line);
        }
        lines
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn lines_split_across_reads_are_joined_and_the_tail_is_bounded() {
        let mut buffer = LineBuffer::default();
        assert!(buffer.push("[PACKER] ==> azure-arm: Provisioning with sh").is_empty());
        assert_eq!(
            buffer.push("ell script\r\nazure-arm: ok\npartial"),
            vec!["[PACKER] ==> azure-arm: Provisioning with shell script", "azure-arm: ok"]
        );
        for n in 0..60 {
            buffer.push(&format!("line {n}\n"));
        }
        assert_eq!(buffer.tail.len(), TAIL_LINES);
        assert_eq!(buffer.tail.back().map(String::as_str), Some("line 59"));
        assert_eq!(buffer.tail.front().map(String::as_str), Some("line 10"));
    }

    /// A `packerlogs` listing as the Blob service answers List Blobs (api-version 2021-12-02
    /// and later give `Creation-Time`), with the logs of a template's first two runs.
    const TWO_RUNS: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="https://a1b2c3d4e5f6a7b8c9d0e1f2.blob.core.windows.net/" ContainerName="packerlogs">
  <Blobs>
    <Blob>
      <Name>3f6e2d1c-8b7a-4c5d-9e0f-1a2b3c4d5e6f/customization.log</Name>
      <Properties>
        <Creation-Time>Sun, 17 Nov 2024 13:04:51 GMT</Creation-Time>
        <Last-Modified>Sun, 17 Nov 2024 13:41:02 GMT</Last-Modified>
        <Etag>0x8DD070F3C2A9B41</Etag>
        <Content-Length>48213</Content-Length>
        <Content-Type>application/octet-stream</Content-Type>
        <BlobType>BlockBlob</BlobType>
        <LeaseStatus>unlocked</LeaseStatus>
        <LeaseState>available</LeaseState>
        <ServerEncrypted>true</ServerEncrypted>
      </Properties>
      <OrMetadata />
    </Blob>
    <Blob>
      <Name>9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/customization.log</Name>
      <Properties>
        <Creation-Time>Sun, 17 Nov 2024 15:33:40 GMT</Creation-Time>
        <Last-Modified>Sun, 17 Nov 2024 15:47:18 GMT</Last-Modified>
        <Etag>0x8DD0720E1F3D5A2</Etag>
        <Content-Length>20117</Content-Length>
        <Content-Type>application/octet-stream</Content-Type>
        <BlobType>BlockBlob</BlobType>
        <LeaseStatus>unlocked</LeaseStatus>
        <LeaseState>available</LeaseState>
        <ServerEncrypted>true</ServerEncrypted>
      </Properties>
      <OrMetadata />
    </Blob>
    <Blob>
      <Name>9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/packer-config.json</Name>
      <Properties>
        <Creation-Time>Sun, 17 Nov 2024 15:33:41 GMT</Creation-Time>
        <Last-Modified>Sun, 17 Nov 2024 15:50:00 GMT</Last-Modified>
        <Content-Length>3021</Content-Length>
        <BlobType>BlockBlob</BlobType>
      </Properties>
    </Blob>
  </Blobs>
  <NextMarker />
</EnumerationResults>"#;

    fn listing(xml: &str) -> Vec<ListedLog> {
        let response: azure_storage_blob::models::ListBlobsResponse =
            azure_core::xml::from_xml(xml.as_bytes()).expect("a List Blobs answer");
        response.blob_items.into_iter().filter_map(ListedLog::of).collect()
    }

    fn chosen(listed: &[ListedLog], start: OffsetDateTime) -> Option<&str> {
        log_of_run(listed, start).map(|log| log.name.split('/').next().unwrap_or_default())
    }

    #[test]
    fn the_log_of_the_run_waited_for_is_chosen_not_the_newest_or_an_earlier_runs() {
        let listed = listing(TWO_RUNS);
        assert_eq!(listed.len(), 2, "only customization logs: {listed:?}");
        // The first run's log, though a later run's is newer.
        assert_eq!(
            chosen(&listed, datetime!(2024-11-17 13:02:10.481 UTC)),
            Some("3f6e2d1c-8b7a-4c5d-9e0f-1a2b3c4d5e6f")
        );
        assert_eq!(chosen(&listed, datetime!(2024-11-17 15:31:20.5 UTC)), Some("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d"));
        // A third run that has not written its log yet: none, never the second run's.
        assert_eq!(chosen(&listed, datetime!(2024-11-17 16:02:00 UTC)), None);
    }

    #[test]
    fn the_failure_message_names_the_runs_log() {
        let message = "Failed while waiting for packerizer: Microservice has failed: Failed while processing request: Error when executing packerizer: Packer build command has failed: exit status 1. During the image build, a failure has occurred, please review the build log to identify which build/customization step failed. For more troubleshooting steps go to https://aka.ms/azvmimagebuilder-troubleshoot. Image Build log location: https://a1b2c3d4e5f6a7b8c9d0e1f2.blob.core.windows.net/packerlogs/9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/customization.log";
        assert_eq!(named_log(message).as_deref(), Some("9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d/customization.log"));
        assert_eq!(
            named_log("Failed while waiting for packerizer: Timeout waiting for microservice to complete"),
            None
        );
        assert_eq!(named_log("Image Build log location: https://x.blob.core.windows.net/other/a/b.log"), None);
    }

    #[test]
    fn a_log_last_written_in_the_second_the_run_started_is_not_taken_for_it() {
        let previous = ListedLog {
            name: "1111/customization.log".into(),
            created: Some(datetime!(2024-11-17 15:31:20 UTC)),
            modified: Some(datetime!(2024-11-17 15:31:20 UTC)),
        };
        let start = datetime!(2024-11-17 15:31:20.930 UTC);
        assert_eq!(chosen(std::slice::from_ref(&previous), start), None);
        // The run's own log, first written in that second too, counts from its next write.
        let mut own = ListedLog { name: "2222/customization.log".into(), ..previous.clone() };
        assert_eq!(chosen(&[previous.clone(), own.clone()], start), None);
        own.modified = Some(datetime!(2024-11-17 15:31:21 UTC));
        assert_eq!(chosen(&[previous.clone(), own], start), Some("2222"));
        // Without creation times (older service versions), the last write decides alone.
        let old = ListedLog { created: None, ..previous };
        assert_eq!(chosen(&[old], datetime!(2024-11-17 15:31:19 UTC)), Some("1111"));
    }
}
