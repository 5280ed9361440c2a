//! What an upload is, judged from its bytes, and what images become: decoded within limits,
//! turned upright, re-encoded without metadata (no EXIF, no GPS), with a thumbnail. Pure
//! functions; the caller runs `process_image` on the blocking pool.

use std::io::Cursor;

use image::codecs::gif::{GifDecoder, GifEncoder};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{
    AnimationDecoder, DynamicImage, ImageDecoder, ImageEncoder, ImageFormat, ImageReader, Limits,
};

/// Bytes enough to tell every allowed type apart.
pub const SNIFF_BYTES: usize = 8192;
/// The longer side of a thumbnail, at most.
pub const THUMBNAIL_SIDE: u32 = 320;

/// The types an upload may have, by default (API.md).
pub const ALLOWED: &[&str] = &[
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "text/plain",
    "video/mp4",
    "audio/mpeg",
    "application/zip",
];

/// The type of a file from its first bytes (`complete`: these are all of it), or None when
/// it is not one of the allowed types.
pub fn sniff(head: &[u8], complete: bool) -> Option<&'static str> {
    if let Some(kind) = infer::get(head) {
        return ALLOWED.iter().copied().find(|t| *t == kind.mime_type());
    }
    is_text(head, complete).then_some("text/plain")
}

/// UTF-8 text without control characters other than tab, newlines and form feed; a character
/// cut by the end of a prefix is allowed.
fn is_text(head: &[u8], complete: bool) -> bool {
    if head.is_empty() {
        return false;
    }
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        Err(e) if !complete && e.error_len().is_none() => {
            // Only the last character was cut off.
            match std::str::from_utf8(&head[..e.valid_up_to()]) {
                Ok(t) => t,
                Err(_) => return false,
            }
        }
        Err(_) => return false,
    };
    !text.is_empty()
        && !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c'))
}

pub fn is_image(content_type: &str) -> bool {
    content_type.starts_with("image/")
}

/// A re-encoded image and its thumbnail.
#[derive(Debug)]
pub struct Processed {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub thumbnail: Vec<u8>,
    pub thumbnail_type: &'static str,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("The image is larger than {0} pixels.")]
    TooLarge(u64),
    #[error("An animation may hold at most {0} pixels over all its frames.")]
    AnimationTooLarge(u64),
    #[error("The file is not a valid image.")]
    Invalid,
}

fn format_of(content_type: &str) -> Option<ImageFormat> {
    match content_type {
        "image/jpeg" => Some(ImageFormat::Jpeg),
        "image/png" => Some(ImageFormat::Png),
        "image/gif" => Some(ImageFormat::Gif),
        "image/webp" => Some(ImageFormat::WebP),
        _ => None,
    }
}

/// Decodes (at most `max_pixels`, memory bounded accordingly), applies the EXIF orientation,
/// re-encodes in the same format with no metadata, and makes a thumbnail (JPEG for JPEG
/// images, PNG otherwise) at most `THUMBNAIL_SIDE` px on its longer side.
pub fn process_image(
    bytes: &[u8],
    content_type: &str,
    max_pixels: u64,
) -> Result<Processed, ImageError> {
    let format = format_of(content_type).ok_or(ImageError::Invalid)?;
    let limits = limits_for(max_pixels);
    let reader = |limits: Limits| {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        r.limits(limits);
        r
    };
    let (w, h) = reader(limits.clone())
        .into_dimensions()
        .map_err(|_| ImageError::Invalid)?;
    let canvas = u64::from(w) * u64::from(h);
    if canvas > max_pixels {
        return Err(ImageError::TooLarge(max_pixels));
    }
    // Every frame of an animation is decoded to a full canvas: bound them all, counted before
    // any is decoded (a 1 KB GIF can declare a 2000×2000 canvas and hundreds of 1×1 frames).
    let frames = if format == ImageFormat::Gif {
        gif_frames(bytes)?
    } else {
        1
    };
    if canvas.saturating_mul(frames) > max_pixels {
        return Err(ImageError::AnimationTooLarge(max_pixels));
    }
    let mut decoder = reader(limits)
        .into_decoder()
        .map_err(|_| ImageError::Invalid)?;
    let orientation = decoder.orientation().map_err(|_| ImageError::Invalid)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(|_| ImageError::Invalid)?;
    img.apply_orientation(orientation);

    let out = match format {
        ImageFormat::Gif => reencode_gif(bytes, &img, frames > 1, limits_for(max_pixels))?,
        _ => encode(&img, format)?,
    };
    // Never larger than the picture itself.
    let thumb = if img.width() <= THUMBNAIL_SIDE && img.height() <= THUMBNAIL_SIDE {
        img.clone()
    } else {
        img.thumbnail(THUMBNAIL_SIDE, THUMBNAIL_SIDE)
    };
    let (thumbnail, thumbnail_type) = if format == ImageFormat::Jpeg {
        (encode(&thumb, ImageFormat::Jpeg)?, "image/jpeg")
    } else {
        (encode(&thumb, ImageFormat::Png)?, "image/png")
    };
    Ok(Processed {
        bytes: out,
        width: img.width(),
        height: img.height(),
        thumbnail,
        thumbnail_type,
    })
}

/// The decoder's limits for an image of at most `max_pixels`: room for the decoded pixels (up
/// to 8 bytes each) and the decoder's own buffers.
fn limits_for(max_pixels: u64) -> Limits {
    let mut limits = Limits::default();
    limits.max_alloc = Some(max_pixels.saturating_mul(8).saturating_add(64 << 20));
    limits
}

/// How many frames a GIF has, read without decoding any of them.
fn gif_frames(bytes: &[u8]) -> Result<u64, ImageError> {
    let mut options = gif::DecodeOptions::new();
    options.skip_frame_decoding(true);
    let mut decoder = options
        .read_info(Cursor::new(bytes))
        .map_err(|_| ImageError::Invalid)?;
    let mut frames = 0u64;
    while decoder
        .next_frame_info()
        .map_err(|_| ImageError::Invalid)?
        .is_some()
    {
        frames += 1;
    }
    Ok(frames)
}

fn encode(img: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, ImageError> {
    let mut out = Vec::new();
    let done = match format {
        ImageFormat::Jpeg => {
            let rgb = img.to_rgb8();
            JpegEncoder::new_with_quality(&mut out, 85).write_image(
                rgb.as_raw(),
                rgb.width(),
                rgb.height(),
                image::ExtendedColorType::Rgb8,
            )
        }
        ImageFormat::Png => {
            let rgba = img.to_rgba8();
            PngEncoder::new(&mut out).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
        }
        ImageFormat::WebP => {
            let rgba = img.to_rgba8();
            WebPEncoder::new_lossless(&mut out).write_image(
                rgba.as_raw(),
                rgba.width(),
                rgba.height(),
                image::ExtendedColorType::Rgba8,
            )
        }
        _ => return Err(ImageError::Invalid),
    };
    done.map_err(|_| ImageError::Invalid)?;
    Ok(out)
}

/// A GIF keeps its frames (and timing); comments and application extensions are dropped.
/// Frames are decoded and encoded one at a time, under the decoder's limits, so memory holds
/// one canvas, not the whole animation.
fn reencode_gif(
    bytes: &[u8],
    first: &DynamicImage,
    animated: bool,
    limits: Limits,
) -> Result<Vec<u8>, ImageError> {
    let mut decoder = GifDecoder::new(Cursor::new(bytes)).map_err(|_| ImageError::Invalid)?;
    decoder
        .set_limits(limits)
        .map_err(|_| ImageError::Invalid)?;
    let mut out = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut out);
        if animated {
            enc.set_repeat(image::codecs::gif::Repeat::Infinite)
                .map_err(|_| ImageError::Invalid)?;
            for frame in decoder.into_frames() {
                let frame = frame.map_err(|_| ImageError::Invalid)?;
                enc.encode_frame(frame).map_err(|_| ImageError::Invalid)?;
            }
        } else {
            enc.encode_frame(image::Frame::new(first.to_rgba8()))
                .map_err(|_| ImageError::Invalid)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_come_from_the_bytes() {
        assert_eq!(
            sniff(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", false),
            Some("image/png")
        );
        assert_eq!(sniff(b"%PDF-1.7\n", false), Some("application/pdf"));
        assert_eq!(
            sniff(b"PK\x03\x04\x14\0\0\0", false),
            Some("application/zip")
        );
        assert_eq!(sniff(b"hello, world\n", true), Some("text/plain"));
        assert_eq!(sniff("héllo".as_bytes(), true), Some("text/plain"));
        // A prefix may end in the middle of a character; a whole file may not.
        assert_eq!(sniff(&"é".as_bytes()[..1], false), None);
        assert_eq!(sniff(&[b'a', 0xc3], false), Some("text/plain"));
        assert_eq!(sniff(&[b'a', 0xc3], true), None);
        assert_eq!(sniff(b"bin\0ary", true), None);
        assert_eq!(sniff(b"", true), None);
        // An executable is none of the allowed types.
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0", false), None);
    }

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = DynamicImage::new_rgb8(w, h);
        encode(&img, ImageFormat::Png).unwrap_or_default()
    }

    #[test]
    fn an_image_is_reencoded_with_a_bounded_thumbnail() {
        let p = process_image(&png(800, 400), "image/png", 1_000_000).expect("processed");
        assert_eq!((p.width, p.height), (800, 400));
        let thumb = image::load_from_memory(&p.thumbnail).expect("thumbnail");
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
        assert_eq!(p.thumbnail_type, "image/png");
    }

    #[test]
    fn an_animation_is_bounded_by_its_frames_times_its_canvas() {
        // Ten frames of a 100×100 canvas: 100,000 pixels in all.
        let mut frames = Vec::new();
        for _ in 0..10 {
            frames.push(image::Frame::new(image::RgbaImage::new(100, 100)));
        }
        let mut gif = Vec::new();
        GifEncoder::new(&mut gif)
            .encode_frames(frames)
            .expect("gif");
        assert_eq!(gif_frames(&gif), Ok(10));
        assert_eq!(
            process_image(&gif, "image/gif", 99_999).expect_err("refused"),
            ImageError::AnimationTooLarge(99_999)
        );
        let kept = process_image(&gif, "image/gif", 100_000).expect("processed");
        assert_eq!(gif_frames(&kept.bytes), Ok(10));
    }

    #[test]
    fn too_many_pixels_or_bad_bytes_are_refused() {
        assert_eq!(
            process_image(&png(200, 200), "image/png", 10_000).expect_err("refused"),
            ImageError::TooLarge(10_000)
        );
        assert_eq!(
            process_image(b"\x89PNG\r\n\x1a\nnot really", "image/png", 10_000)
                .expect_err("refused"),
            ImageError::Invalid
        );
    }
}
