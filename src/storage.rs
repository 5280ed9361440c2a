//! Where media bytes live: local disk or an S3-compatible bucket, behind one `MediaStore`
//! (`object_store` underneath). Transport only: it knows keys and bytes, not media rows.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, PutPayload, WriteMultipart};

use crate::config::MediaSettings;

#[derive(Clone)]
pub struct MediaStore {
    inner: Arc<dyn ObjectStore>,
    /// `local` or `s3`, for logs and health.
    pub kind: &'static str,
}

/// An object's bytes, or part of them.
pub struct Fetched {
    pub stream: BoxStream<'static, object_store::Result<Bytes>>,
    /// The bytes returned.
    pub range: Range<u64>,
    /// The whole object's size.
    pub size: u64,
}

/// A streaming upload of one object; dropped or aborted, nothing is left behind.
pub struct Upload {
    writer: WriteMultipart,
}

impl Upload {
    /// Adds `chunk`; waits while too many parts are in flight, so memory stays bounded.
    pub async fn write(&mut self, chunk: &[u8]) -> object_store::Result<()> {
        self.writer.wait_for_capacity(2).await?;
        self.writer.write(chunk);
        Ok(())
    }

    pub async fn finish(self) -> object_store::Result<()> {
        self.writer.finish().await.map(drop)
    }

    pub async fn abort(self) {
        if let Err(e) = self.writer.abort().await {
            tracing::warn!(error = %e, "aborting an upload failed");
        }
    }
}

impl MediaStore {
    pub fn build(settings: &MediaSettings) -> Result<Self, String> {
        match &settings.s3 {
            None => {
                std::fs::create_dir_all(&settings.dir)
                    .map_err(|e| format!("could not create {}: {e}", settings.dir.display()))?;
                let local = LocalFileSystem::new_with_prefix(&settings.dir)
                    .map_err(|e| format!("media directory {}: {e}", settings.dir.display()))?;
                Ok(Self {
                    inner: Arc::new(local),
                    kind: "local",
                })
            }
            Some(s3) => {
                let mut b = AmazonS3Builder::new()
                    .with_bucket_name(&s3.bucket)
                    .with_region(&s3.region);
                if let Some(endpoint) = &s3.endpoint {
                    b = b
                        .with_endpoint(endpoint)
                        .with_allow_http(endpoint.starts_with("http://"))
                        .with_virtual_hosted_style_request(false);
                }
                if let Some(id) = &s3.access_key_id {
                    b = b.with_access_key_id(id);
                }
                if let Some(secret) = &s3.secret_access_key {
                    b = b.with_secret_access_key(secret.expose());
                }
                let s3 = b.build().map_err(|e| format!("S3 settings: {e}"))?;
                Ok(Self {
                    inner: Arc::new(s3),
                    kind: "s3",
                })
            }
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> object_store::Result<()> {
        self.inner
            .put(&Path::from(key), PutPayload::from(bytes))
            .await
            .map(drop)
    }

    /// Starts a streaming upload to `key` (parts of 5 MiB, as S3 requires).
    pub async fn upload(&self, key: &str) -> object_store::Result<Upload> {
        let upload = self.inner.put_multipart(&Path::from(key)).await?;
        Ok(Upload {
            writer: WriteMultipart::new(upload),
        })
    }

    /// The object at `key`, or the bytes of `range` of it (clamped to its size).
    pub async fn get(&self, key: &str, range: Option<Range<u64>>) -> object_store::Result<Fetched> {
        let options = GetOptions {
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = self.inner.get_opts(&Path::from(key), options).await?;
        Ok(Fetched {
            size: result.meta.size,
            range: result.range.clone(),
            stream: result.into_stream(),
        })
    }

    /// Size of the object at `key`.
    pub async fn size(&self, key: &str) -> object_store::Result<u64> {
        Ok(self.inner.head(&Path::from(key)).await?.size)
    }

    /// Every key stored (for tests and operators: a full listing).
    pub async fn keys(&self) -> object_store::Result<Vec<String>> {
        use futures_util::TryStreamExt;
        let metas: Vec<object_store::ObjectMeta> = self.inner.list(None).try_collect().await?;
        Ok(metas.into_iter().map(|m| m.location.to_string()).collect())
    }

    /// Deletes `key`; an object already gone is not an error.
    pub async fn delete(&self, key: &str) -> object_store::Result<()> {
        match self.inner.delete(&Path::from(key)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }
}
