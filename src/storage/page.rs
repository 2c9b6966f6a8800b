//! Keyset pagination: newest first, ties broken by id. A cursor names the last row of
//! a page (its time and id), so pages stay exact while new rows keep arriving.

use chrono::{DateTime, NaiveDateTime};

/// Where a page ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub at: NaiveDateTime,
    pub id: String,
}

impl Cursor {
    /// `MICROS_ID`: opaque to callers, plain in logs.
    pub fn encode(&self) -> String {
        format!("{}_{}", self.at.and_utc().timestamp_micros(), self.id)
    }

    pub fn decode(raw: &str) -> Option<Self> {
        let (micros, id) = raw.split_once('_')?;
        let at = DateTime::from_timestamp_micros(micros.parse().ok()?)?.naive_utc();
        let ok_id = (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
        ok_id.then(|| Cursor { at, id: id.to_string() })
    }
}

/// Rows of one page and the cursor for the next (none on the last page).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// `rows` holds up to `limit + 1` rows: one more than a page says there is another.
    pub fn of(mut rows: Vec<T>, limit: usize, key: impl Fn(&T) -> Cursor) -> Self {
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more { rows.last().map(|r| key(r).encode()) } else { None };
        Page { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_garbage() {
        let c = Cursor { at: crate::storage::now(), id: uuid::Uuid::new_v4().to_string() };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in ["", "x", "1_", "_abc", "12_../etc", "99999999999999999999_ab", "1_abc def"] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
