//! A ZIP written entry by entry to a temporary file, each write on the blocking pool (the
//! `zip` crate is synchronous), so a large export costs disk, not memory; then streamed to
//! storage in parts.

use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::storage::MediaStore;

pub struct Archive {
    zip: Option<ZipWriter<File>>,
    path: PathBuf,
}

fn io(e: impl std::fmt::Display) -> String {
    e.to_string()
}

impl Archive {
    /// A new archive in the file `path` (its directory is made if missing).
    pub async fn create(path: PathBuf) -> Result<Self, String> {
        let p = path.clone();
        let zip = tokio::task::spawn_blocking(move || {
            if let Some(dir) = p.parent() {
                std::fs::create_dir_all(dir)?;
            }
            File::create(&p).map(ZipWriter::new)
        })
        .await
        .map_err(io)?
        .map_err(io)?;
        Ok(Self {
            zip: Some(zip),
            path,
        })
    }

    async fn with<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut ZipWriter<File>) -> Result<T, String> + Send + 'static,
    ) -> Result<T, String> {
        let mut zip = self.zip.take().ok_or("the archive is closed")?;
        let (zip, out) = tokio::task::spawn_blocking(move || {
            let out = f(&mut zip);
            (zip, out)
        })
        .await
        .map_err(io)?;
        self.zip = Some(zip);
        out
    }

    /// Starts the entry `name`: deflated (JSON), or stored as it is (media, compressed already).
    pub async fn start(&mut self, name: String, deflate: bool) -> Result<(), String> {
        let method = if deflate {
            CompressionMethod::Deflated
        } else {
            CompressionMethod::Stored
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .large_file(true);
        self.with(move |z| z.start_file(name, options).map_err(io))
            .await
    }

    /// Appends `bytes` to the entry being written.
    pub async fn write(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        self.with(move |z| z.write_all(&bytes).map_err(io)).await
    }

    /// Ends the archive and streams it to `store` under `key`; its size. The temporary file is
    /// removed whatever happens.
    pub async fn store(mut self, store: &MediaStore, key: &str) -> Result<u64, String> {
        let zip = self.zip.take();
        let result = async {
            let zip = zip.ok_or("the archive is closed")?;
            tokio::task::spawn_blocking(move || zip.finish().map_err(io)?.sync_all().map_err(io))
                .await
                .map_err(io)??;
            upload(store, &self.path, key).await
        }
        .await;
        let _ = tokio::fs::remove_file(&self.path).await;
        result
    }

    /// Removes the temporary file of an archive given up on.
    pub async fn discard(self) {
        let _ = tokio::fs::remove_file(&self.path).await;
    }
}

async fn upload(store: &MediaStore, path: &PathBuf, key: &str) -> Result<u64, String> {
    use tokio::io::AsyncReadExt;
    let mut file = tokio::fs::File::open(path).await.map_err(io)?;
    let mut upload = store.upload(key).await.map_err(io)?;
    let mut buf = vec![0_u8; 1024 * 1024];
    let mut size = 0_u64;
    loop {
        let n = match file.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                upload.abort().await;
                return Err(io(e));
            }
        };
        if n == 0 {
            break;
        }
        size += n as u64;
        if let Err(e) = upload.write(&buf[..n]).await {
            upload.abort().await;
            return Err(io(e));
        }
    }
    upload.finish().await.map_err(io)?;
    Ok(size)
}
