//! Script upload to blob storage with azure_storage_blob, authenticated by Entra ID.
//!
//! A blob whose length and `Content-MD5` equal the local file's is left alone, so a re-run sends
//! nothing. Files are sent in blocks of [`BlobScripts::partition_size`], several at a time; the
//! file is read and hashed on a blocking thread while the blob's properties are fetched.
//!
//! Caveats: the MD5 is stored explicitly as the blob's property, because the service computes
//! none for block-list uploads; a blob changed by someone else without updating its MD5 is not
//! noticed. The whole file is read into memory before sending (scripts and artifacts, not disk
//! images).

use std::num::NonZero;
use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use azure_core::http::{ClientOptions, RequestContent, StatusCode, Url};
use azure_storage_blob::models::{
    BlockBlobClientCommitBlockListOptions, BlockBlobClientUploadOptions, BlockLookupList,
};
use azure_storage_blob::{BlobClient, BlobClientOptions};
use md5::{Digest, Md5};

use crate::apply::{ScriptStore, StoreError};
use crate::scripts::ScriptUpload;

/// Uploads scripts with an Entra ID credential (scope `https://storage.azure.com/.default`).
#[derive(Clone)]
pub struct BlobScripts {
    credential: Arc<dyn TokenCredential>,
    options: ClientOptions,
    /// Blocks in flight per file.
    pub parallel: NonZero<usize>,
    /// Block size in bytes.
    pub partition_size: NonZero<u64>,
}

impl BlobScripts {
    pub fn new(credential: Arc<dyn TokenCredential>, options: ClientOptions) -> Self {
        Self {
            credential,
            options,
            parallel: NonZero::new(8).expect("non-zero"),
            partition_size: NonZero::new(8 * 1024 * 1024).expect("non-zero"),
        }
    }

    fn client(&self, blob_url: &str) -> Result<BlobClient, StoreError> {
        let url = Url::parse(blob_url).map_err(|e| StoreError::operation(format!("{blob_url}: {e}")))?;
        let options = BlobClientOptions { client_options: self.options.clone(), ..Default::default() };
        BlobClient::new(url, Some(self.credential.clone()), Some(options))
            .map_err(|e| StoreError::operation(format!("{blob_url}: {e}")))
    }

    /// The blob's length and stored MD5, or `None` when it does not exist.
    async fn remote(&self, client: &BlobClient, blob_url: &str) -> Result<Option<RemoteBlob>, StoreError> {
        use azure_core::http::headers::HeaderName;
        match client.get_properties(None).await {
            Ok(response) => {
                let headers = response.headers();
                let length =
                    headers.get_optional_str(&HeaderName::from_static("content-length")).and_then(|v| v.parse().ok());
                let md5 = headers.get_optional_str(&HeaderName::from_static("content-md5")).and_then(base64_decode);
                Ok(Some(RemoteBlob { length: length.unwrap_or_default(), md5 }))
            }
            Err(error) if error.http_status() == Some(StatusCode::NotFound) => Ok(None),
            Err(error) => Err(StoreError::operation(format!("HEAD {blob_url}: {}", one_line(&error)))),
        }
    }
}

impl ScriptStore for BlobScripts {
    async fn upload(&self, container_url: &str, upload: &ScriptUpload) -> Result<bool, StoreError> {
        let blob_url = format!("{}/{}", container_url.trim_end_matches('/'), upload.blob_name);
        let client = self.client(&blob_url)?;
        let path = upload.local_path.clone();
        let local_error =
            |e: String| StoreError::operation(format!("cannot read {}: {e}", upload.local_path.display()));
        let put_error = |e: azure_core::Error| StoreError::operation(format!("PUT {blob_url}: {}", one_line(&e)));
        let length = std::fs::metadata(&path).map_err(|e| local_error(e.to_string()))?.len();
        // Hash while asking: off the async threads, so a large artifact stalls nothing else.
        let hashing = tokio::task::spawn_blocking({
            let path = path.clone();
            move || md5_of_file(&path)
        });
        let remote = self.remote(&client, &blob_url).await?;
        let same_length = remote.as_ref().is_some_and(|r| r.length == length);
        if !same_length && length > self.partition_size.get() {
            // Certainly different: send the blocks now, commit with the MD5 hashed meanwhile.
            return self.put_blocks(&client, &path, length, hashing, &put_error, &local_error).await.map(|()| true);
        }
        let md5 = hashing.await.map_err(|e| local_error(e.to_string()))?.map_err(|e| local_error(e.to_string()))?;
        if same_length && remote.and_then(|r| r.md5).as_deref() == Some(md5.as_slice()) {
            return Ok(false);
        }
        if length > self.partition_size.get() {
            let known = tokio::task::spawn_blocking(move || Ok(md5));
            return self.put_blocks(&client, &path, length, known, &put_error, &local_error).await.map(|()| true);
        }
        let content = std::fs::read(&path).map_err(|e| local_error(e.to_string()))?;
        let options = BlockBlobClientUploadOptions { blob_content_md5: Some(md5), ..Default::default() };
        client.upload(RequestContent::from(content), Some(options)).await.map_err(put_error)?;
        Ok(true)
    }
}

impl BlobScripts {
    /// Stages the file's blocks, `parallel` at a time, each read from disk when its turn comes,
    /// then commits them with the MD5 `hashing` yields.
    async fn put_blocks(
        &self,
        client: &BlobClient,
        path: &std::path::Path,
        length: u64,
        hashing: tokio::task::JoinHandle<std::io::Result<Vec<u8>>>,
        put_error: &(dyn Fn(azure_core::Error) -> StoreError + Sync),
        local_error: &(dyn Fn(String) -> StoreError + Sync),
    ) -> Result<(), StoreError> {
        use futures::stream::{self, StreamExt, TryStreamExt};
        let blocks = client.block_blob_client();
        let size = self.partition_size.get();
        let count = length.div_ceil(size);
        // Block ids must all have the same length.
        let ids: Vec<Vec<u8>> = (0..count).map(|i| format!("agentpool-{i:010}").into_bytes()).collect();
        stream::iter(0..count)
            .map(|index| {
                let blocks = &blocks;
                let id = &ids[index as usize];
                let path = path.to_owned();
                async move {
                    let offset = index * size;
                    let len = size.min(length - offset);
                    let bytes = tokio::task::spawn_blocking(move || read_range(&path, offset, len))
                        .await
                        .map_err(|e| local_error(e.to_string()))?
                        .map_err(|e| local_error(e.to_string()))?;
                    blocks.stage_block(id, len, RequestContent::from(bytes), None).await.map_err(put_error)?;
                    Ok::<(), StoreError>(())
                }
            })
            .buffer_unordered(self.parallel.get())
            .try_collect::<()>()
            .await?;
        let md5 = hashing.await.map_err(|e| local_error(e.to_string()))?.map_err(|e| local_error(e.to_string()))?;
        let list = BlockLookupList { latest: Some(ids), ..Default::default() };
        let options = BlockBlobClientCommitBlockListOptions { blob_content_md5: Some(md5), ..Default::default() };
        blocks.commit_block_list(list.try_into().map_err(put_error)?, Some(options)).await.map_err(put_error)?;
        Ok(())
    }
}

/// MD5 of a file, read in 1 MiB pieces.
fn md5_of_file(path: &std::path::Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Md5::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        match file.read(&mut buffer)? {
            0 => return Ok(hasher.finalize().to_vec()),
            n => hasher.update(&buffer[..n]),
        }
    }
}

/// `len` bytes of a file from `offset`.
fn read_range(path: &std::path::Path, offset: u64, len: u64) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    let mut bytes = vec![0u8; len as usize];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

/// What the blob service holds for a blob.
struct RemoteBlob {
    length: u64,
    md5: Option<Vec<u8>>,
}

/// `404 ContainerNotFound` rather than the storage service's XML error document.
fn one_line(error: &azure_core::Error) -> String {
    match error.kind() {
        azure_core::error::ErrorKind::HttpResponse { status, error_code, .. } => {
            format!("{} {}", u16::from(*status), error_code.as_deref().unwrap_or("(no error code)"))
        }
        _ => error.to_string().lines().next().unwrap_or_default().to_owned(),
    }
}

/// Standard base64 (as in `Content-MD5`), without a dependency for 20 lines.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let value = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let bytes: Vec<u8> = text.bytes().filter(|b| *b != b'=').collect();
    let mut out = Vec::with_capacity(bytes.len() * 3 / 4);
    for chunk in bytes.chunks(4) {
        let mut acc = 0u32;
        for (i, b) in chunk.iter().enumerate() {
            acc |= value(*b)? << (18 - 6 * i);
        }
        let produced = chunk.len() * 6 / 8;
        for i in 0..produced {
            out.push((acc >> (16 - 8 * i)) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_md5_headers_decode() {
        // MD5("") as Azure sends it.
        assert_eq!(base64_decode("1B2M2Y8AsgTpgAmY7PhCfg==").unwrap(), Md5::digest(b"").to_vec());
        assert_eq!(base64_decode("TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode("TWE=").unwrap(), b"Ma");
        assert!(base64_decode("T!E=").is_none());
    }
}
