//! Media measurements: upload throughput of files (MB/s, several uploaders at once), and for
//! photos the upload latency (decode, strip, re-encode and thumbnail happen inside it) and the
//! time to fetch the thumbnail. The server must not limit uploads
//! (`AGORA_MEDIA_UPLOADS_PER_MINUTE=0`, `AGORA_MEDIA_QUOTA_BYTES=0`; set when agora-bench
//! starts the server itself).

use std::io::Cursor;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde_json::Value;

use super::{Percentiles, User};

#[derive(Serialize, Debug)]
pub struct MediaReport {
    pub file_bytes: usize,
    pub uploaders: usize,
    pub seconds: f64,
    pub uploads: usize,
    pub megabytes_per_second: f64,
    pub photo: String,
    pub photos: usize,
    /// Upload of a photo until its 201 (processing included).
    pub photo_upload: Percentiles,
    /// GET of the thumbnail through its signed link.
    pub thumbnail_fetch: Percentiles,
}

pub struct MediaArgs {
    pub file_mib: usize,
    pub uploaders: usize,
    pub seconds: u64,
    pub photos: usize,
}

async fn upload(
    client: &reqwest::Client,
    base: &str,
    user: &User,
    bytes: Vec<u8>,
    name: &str,
) -> Result<Value, String> {
    let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
    let res = client
        .post(format!("{base}/api/media/"))
        .bearer_auth(&user.access)
        .multipart(reqwest::multipart::Form::new().part("file", part))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status();
    let body: Value = res.json().await.map_err(|e| e.to_string())?;
    if status.as_u16() != 201 {
        return Err(format!("upload: {status} {body}"));
    }
    Ok(body)
}

/// A 1920×1080 JPEG with some detail (a smooth picture would flatter the encoder).
fn photo() -> Vec<u8> {
    let img = image::RgbImage::from_fn(1920, 1080, |x, y| {
        let v = (x.wrapping_mul(31) ^ y.wrapping_mul(17)).wrapping_mul(2_654_435_761) >> 24;
        image::Rgb([v as u8, (x / 8) as u8, (y / 5) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    // Writing to memory cannot fail.
    let _ = image::DynamicImage::ImageRgb8(img).write_to(&mut out, image::ImageFormat::Jpeg);
    out.into_inner()
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

pub async fn run(
    client: &reqwest::Client,
    base: &str,
    user: &User,
    a: &MediaArgs,
) -> Result<MediaReport, String> {
    let file_bytes = a.file_mib * 1024 * 1024;
    // Plain text: stored as it comes, so this is the streaming path.
    let file: Vec<u8> = b"agora media throughput\n"
        .iter()
        .copied()
        .cycle()
        .take(file_bytes)
        .collect();
    eprintln!(
        "media: {} uploaders of {} MiB files for {} s ...",
        a.uploaders, a.file_mib, a.seconds
    );
    let started = Instant::now();
    let until = started + Duration::from_secs(a.seconds);
    let mut tasks = Vec::new();
    for _ in 0..a.uploaders {
        let (client, base, user, file) =
            (client.clone(), base.to_owned(), user.clone(), file.clone());
        tasks.push(tokio::spawn(async move {
            let mut n = 0usize;
            while Instant::now() < until {
                upload(&client, &base, &user, file.clone(), "bench.txt").await?;
                n += 1;
            }
            Ok::<usize, String>(n)
        }));
    }
    let mut uploads = 0;
    for t in tasks {
        uploads += t.await.map_err(|e| e.to_string())??;
    }
    let seconds = started.elapsed().as_secs_f64();

    eprintln!("media: {} photos (1920×1080 JPEG) ...", a.photos);
    let jpeg = photo();
    let mut up = Vec::with_capacity(a.photos);
    let mut thumb = Vec::with_capacity(a.photos);
    for _ in 0..a.photos {
        let t = Instant::now();
        let m = upload(client, base, user, jpeg.clone(), "photo.jpg").await?;
        up.push(micros(t.elapsed()));
        let link = m["thumbnail_url"]
            .as_str()
            .ok_or("a photo without a thumbnail")?
            .to_owned();
        let t = Instant::now();
        let res = client.get(&link).send().await.map_err(|e| e.to_string())?;
        if !res.status().is_success() {
            return Err(format!("thumbnail: {}", res.status()));
        }
        res.bytes().await.map_err(|e| e.to_string())?;
        thumb.push(micros(t.elapsed()));
    }
    Ok(MediaReport {
        file_bytes,
        uploaders: a.uploaders,
        seconds,
        uploads,
        megabytes_per_second: (uploads * file_bytes) as f64 / 1_000_000.0 / seconds,
        photo: format!("1920×1080 JPEG, {} KiB", jpeg.len() / 1024),
        photos: a.photos,
        photo_upload: Percentiles::of(up),
        thumbnail_fetch: Percentiles::of(thumb),
    })
}
