//! Text every feature reads the same way: `@mentions` (chat messages now; posts and comments
//! will call the same function).

use std::collections::HashSet;

/// A trimmed body of text (a message, post or comment): 1 to `max` characters, else the
/// field's error.
pub fn body(raw: Option<&str>, max: usize) -> Result<String, String> {
    let body = raw.map(str::trim).unwrap_or_default();
    if body.is_empty() {
        return Err(if raw.is_none() {
            crate::error::REQUIRED.into()
        } else {
            crate::error::BLANK.into()
        });
    }
    if body.chars().count() > max {
        return Err(format!(
            "Ensure this field has no more than {max} characters."
        ));
    }
    Ok(body.to_owned())
}

/// Characters a username may hold besides letters and digits (`@` aside).
fn in_username(c: char) -> bool {
    c.is_alphanumeric() || ".+-_".contains(c)
}

/// The usernames `@mentioned` in `body`, lower-cased. A mention starts at an `@` that begins
/// the text or follows a character that cannot be part of a name (so `a@b`, an address, names
/// no one); trailing `.`, `-` and `+` are punctuation, not part of the name.
pub fn mentioned(body: &str) -> HashSet<String> {
    let mut out = HashSet::new();
    for (i, _) in body.match_indices('@') {
        let starts_word = body[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !in_username(c) && c != '@');
        if !starts_word {
            continue;
        }
        let after = &body[i + 1..];
        let end = after.find(|c: char| !in_username(c)).unwrap_or(after.len());
        let name = after[..end].trim_end_matches(['.', '-', '+']);
        if !name.is_empty() {
            out.insert(name.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_are_found_with_punctuation_around_them() {
        let m = mentioned("hi @Alice, and @bob.smith. Also (@carol)! email a@b and @@ and @");
        let expected: HashSet<String> = ["alice", "bob.smith", "carol"]
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(m, expected);
        assert_eq!(
            mentioned("@first at the start"),
            HashSet::from(["first".into()])
        );
        assert_eq!(mentioned("no mentions here"), HashSet::new());
    }

    #[test]
    fn an_address_or_a_doubled_at_mentions_no_one() {
        assert!(mentioned("write to alice@example.com").is_empty());
        assert!(mentioned("a@b").is_empty());
        assert!(mentioned("@@bob").is_empty());
    }
}
