//! One cache shape for everything an instance keeps of the database between requests (user
//! rows, their id lists, rooms' members): entries trusted for a fixed time, a bounded number of
//! them, and a generation bumped by every invalidation, so a value read from the database
//! before an invalidation is never cached after it.
//!
//! Not `moka`: its inserts cannot be refused when an invalidation happened between the read
//! and the insert (the generation check below), and every use here needs that.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub struct Cache<K, V> {
    // A std lock: held for a map operation only, never across an `.await`.
    entries: RwLock<HashMap<K, (V, Instant)>>,
    /// Bumped by every invalidation: a value read before one is not cached after it.
    generation: AtomicU64,
    ttl: Duration,
    /// Entries past which the cache starts over.
    max: usize,
}

impl<K: Hash + Eq, V: Clone> Cache<K, V> {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Self {
            entries: RwLock::default(),
            generation: AtomicU64::new(0),
            ttl,
            max,
        }
    }

    /// The value cached for `key` less than the TTL ago.
    pub fn get(&self, key: &K) -> Option<V> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(_, at)| at.elapsed() < self.ttl)
            .map(|(v, _)| v.clone())
    }

    /// Read before reading a value from the database, and handed to `put` with it.
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// Caches `value`, read from the database after `generation` was, unless an invalidation
    /// happened since.
    pub fn put(&self, generation: u64, key: K, value: V) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        // Checked under the lock `remove` bumps under: no put slips between bump and removal.
        if self.generation() != generation {
            return;
        }
        if entries.len() >= self.max {
            entries.clear();
        }
        entries.insert(key, (value, Instant::now()));
    }

    /// Drops `keys` and refuses every value read before now.
    pub fn remove(&self, keys: impl IntoIterator<Item = K>) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        for key in keys {
            entries.remove(&key);
        }
    }

    /// Drops everything and refuses every value read before now.
    pub fn clear(&self) {
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        self.generation.fetch_add(1, Ordering::AcqRel);
        entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalidation_drops_the_key_and_refuses_a_value_read_before_it() {
        let cache = Cache::new(Duration::from_secs(30), 10);
        let before = cache.generation();
        cache.put(before, 1, "a");
        cache.put(before, 2, "b");
        let read_before = cache.generation();
        cache.remove([1]);
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.get(&2), Some("b"));
        cache.put(read_before, 1, "stale");
        assert_eq!(cache.get(&1), None);
        cache.put(cache.generation(), 1, "fresh");
        assert_eq!(cache.get(&1), Some("fresh"));
        cache.clear();
        assert_eq!(cache.get(&2), None);
    }

    #[test]
    fn entries_expire_and_a_full_cache_starts_over() {
        let expired = Cache::new(Duration::ZERO, 10);
        expired.put(expired.generation(), 1, 1);
        assert_eq!(expired.get(&1), None);
        let small = Cache::new(Duration::from_secs(30), 2);
        let g = small.generation();
        small.put(g, 1, 1);
        small.put(g, 2, 2);
        small.put(g, 3, 3);
        assert_eq!(small.get(&1), None);
        assert_eq!(small.get(&3), Some(3));
    }
}
