//! Following Image Builder's customization log while a build runs.
//!
//! Image Builder writes `packerlogs/<run guid>/customization.log` into the storage account of
//! the template's staging resource group (`properties.exactStagingResourceGroup`). Each look
//! reads only what was appended since the last one, and the newest run's log is picked when the
//! template ran before.
//!
//! Caveat: reading the log is best effort. It needs read access to the staging storage (the
//! pipeline identity usually has it through the subscription); when it fails, the build is still
//! followed and one note says why the log is missing.

use std::collections::VecDeque;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, Url};
use azure_storage_blob::models::BlobClientDownloadOptions;
use azure_storage_blob::{BlobClient, BlobContainerClient, BlobContainerClientOptions};
use futures::TryStreamExt;
use serde_json::Value;

use crate::arm::ArmClient;
use crate::resources::storage_account;

/// Lines kept for the failure report.
pub const TAIL_LINES: usize = 50;

/// The log of the latest run of one template, read incrementally.
pub struct BuildLog {
    credential: Arc<dyn TokenCredential>,
    options: ClientOptions,
    blob: Option<BlobClient>,
    offset: u64,
    lines: LineBuffer,
    /// Why the log cannot be read, once known (reported once).
    pub unavailable: Option<String>,
}

impl BuildLog {
    pub fn new(credential: Arc<dyn TokenCredential>, options: ClientOptions) -> Self {
        Self { credential, options, blob: None, offset: 0, lines: LineBuffer::default(), unavailable: None }
    }

    /// Complete lines appended since the last call; finds the log first when needed.
    pub async fn new_lines(&mut self, arm: &ArmClient, template: &Value) -> Result<Vec<String>, String> {
        if self.blob.is_none() {
            match self.locate(arm, template).await? {
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

    /// The last [`TAIL_LINES`] lines read so far.
    pub fn tail(&self) -> Vec<String> {
        self.lines.tail.iter().cloned().collect()
    }

    /// The newest `*/customization.log` in the staging storage, once Image Builder made it.
    async fn locate(&self, arm: &ArmClient, template: &Value) -> Result<Option<BlobClient>, String> {
        let Some(group) = template.pointer("/properties/exactStagingResourceGroup").and_then(Value::as_str) else {
            return Ok(None);
        };
        let accounts = arm
            .list(&format!("{group}/providers/Microsoft.Storage/storageAccounts"), storage_account::API_VERSION)
            .await
            .map_err(|e| format!("cannot list the staging storage: {e}"))?;
        let Some(endpoint) =
            accounts.iter().find_map(|a| a.pointer("/properties/primaryEndpoints/blob").and_then(Value::as_str))
        else {
            return Ok(None);
        };
        let url = Url::parse(&format!("{}/packerlogs", endpoint.trim_end_matches('/'))).map_err(|e| e.to_string())?;
        let options = BlobContainerClientOptions { client_options: self.options.clone(), ..Default::default() };
        let container =
            BlobContainerClient::new(url, Some(self.credential.clone()), Some(options)).map_err(|e| e.to_string())?;
        let items: Vec<_> = match container.list_blobs(None) {
            Ok(pager) => match pager.try_collect().await {
                Ok(items) => items,
                Err(e) if e.http_status() == Some(azure_core::http::StatusCode::NotFound) => return Ok(None),
                Err(e) => return Err(format!("cannot list the build logs: {}", first_line(&e.to_string()))),
            },
            Err(e) => return Err(e.to_string()),
        };
        let newest = items
            .into_iter()
            .filter(|item| item.name.as_deref().is_some_and(|n| n.ends_with("/customization.log")))
            .max_by_key(|item| item.properties.as_ref().and_then(|p| p.last_modified));
        let Some(name) = newest.and_then(|item| item.name) else { return Ok(None) };
        Ok(Some(container.blob_client(&name)))
    }
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
}
