//! How the export writes what it holds: media as files in the archive, others' presence
//! unknown, JSON lists written a batch at a time.

use serde::Serialize;
use serde_json::Value;

use super::archive::Archive;

/// The name of a file in the archive: `media/<id>-<filename>`, the filename kept to one path
/// segment of printable characters.
pub fn media_entry(id: i64, filename: &str) -> String {
    let clean: String = filename
        .chars()
        .map(|c| {
            if c.is_control() || matches!(c, '/' | '\\' | ':') {
                '_'
            } else {
                c
            }
        })
        .collect();
    let clean = clean.trim_start_matches('.');
    format!("media/{id}-{clean}")
}

/// Objects as the export shows them: others' presence unknown (`is_online: null`), media as
/// the file in the archive instead of links.
fn scrub(v: &mut Value) {
    match v {
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => {
            if map.contains_key("username") && map.contains_key("is_online") {
                map.insert("is_online".into(), Value::Null);
            }
            if let (Some(id), Some(name), true) = (
                map.get("id").and_then(Value::as_i64),
                map.get("filename").and_then(Value::as_str),
                map.contains_key("content_type"),
            ) {
                let file = media_entry(id, name);
                map.remove("url");
                map.remove("thumbnail_url");
                map.insert("file".into(), file.into());
            }
            map.values_mut().for_each(scrub);
        }
        _ => {}
    }
}

pub fn to_value(v: &impl Serialize) -> Result<Value, String> {
    let mut v = serde_json::to_value(v).map_err(|e| e.to_string())?;
    scrub(&mut v);
    Ok(v)
}

/// A JSON array written to the archive a batch at a time.
pub struct List<'a> {
    pub zip: &'a mut Archive,
    pub first: bool,
}

impl<'a> List<'a> {
    pub async fn open(zip: &'a mut Archive, name: &str) -> Result<Self, String> {
        zip.start(name.to_owned(), true).await?;
        zip.write(b"[".to_vec()).await?;
        Ok(Self { zip, first: true })
    }

    pub async fn push(&mut self, items: Vec<Value>) -> Result<(), String> {
        let mut out = Vec::new();
        for item in items {
            if !std::mem::take(&mut self.first) {
                out.push(b',');
            }
            out.push(b'\n');
            serde_json::to_writer(&mut out, &item).map_err(|e| e.to_string())?;
        }
        self.zip.write(out).await
    }

    /// Appends `items` as the export shows them.
    pub async fn push_all<T: Serialize>(&mut self, items: &[T]) -> Result<(), String> {
        let values = items.iter().map(to_value).collect::<Result<_, _>>()?;
        self.push(values).await
    }

    pub async fn close(self) -> Result<(), String> {
        self.zip.write(b"\n]\n".to_vec()).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn media_entries_stay_in_their_folder() {
        assert_eq!(media_entry(7, "cat.png"), "media/7-cat.png");
        assert_eq!(media_entry(7, "../../etc/passwd"), "media/7-_.._etc_passwd");
        assert_eq!(media_entry(7, "a\r\nb"), "media/7-a__b");
    }

    #[test]
    fn scrub_hides_presence_and_replaces_links() {
        let mut v = json!({"user": {"id": 1, "username": "a", "is_online": true},
            "attachments": [{"id": 5, "filename": "x.png", "content_type": "image/png",
                "url": "/api/media/5/content/?sig", "thumbnail_url": null}]});
        scrub(&mut v);
        assert_eq!(v["user"]["is_online"], Value::Null);
        assert_eq!(v["attachments"][0]["file"], "media/5-x.png");
        assert!(v["attachments"][0].get("url").is_none());
    }
}
