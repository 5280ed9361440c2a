//! Fair shares of this instance's WebSocket slots: at most `per_user` open sockets per user, so
//! one account cannot hold every slot of the global cap.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub struct UserSlots {
    per_user: usize,
    // A std lock: held for a map operation only, never across an `.await`.
    open: Mutex<HashMap<i64, usize>>,
}

/// One open socket of a user; its slot is given back when this is dropped.
pub struct UserSlot {
    slots: Arc<UserSlots>,
    user_id: i64,
}

impl UserSlots {
    pub fn new(per_user: usize) -> Arc<Self> {
        Arc::new(Self {
            per_user,
            open: Mutex::new(HashMap::new()),
        })
    }

    /// A slot for one more socket of `user_id`, unless they already hold `per_user`.
    pub fn try_acquire(self: &Arc<Self>, user_id: i64) -> Option<UserSlot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.entry(user_id).or_insert(0);
        if *n >= self.per_user {
            return None;
        }
        *n += 1;
        Some(UserSlot {
            slots: self.clone(),
            user_id,
        })
    }
}

impl Drop for UserSlot {
    fn drop(&mut self) {
        let mut open = self.slots.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = open.get_mut(&self.user_id) {
            *n -= 1;
            if *n == 0 {
                open.remove(&self.user_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_gets_at_most_their_share_and_gets_it_back() {
        let slots = UserSlots::new(2);
        let a1 = slots.try_acquire(1).expect("first");
        let _a2 = slots.try_acquire(1).expect("second");
        assert!(slots.try_acquire(1).is_none());
        assert!(slots.try_acquire(2).is_some());
        drop(a1);
        assert!(slots.try_acquire(1).is_some());
    }
}
