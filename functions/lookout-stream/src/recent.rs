//! The ids of the most recent events read, to drop exact repeats a server sends again after a reconnect
//! (it may resend the event a stream resumes at). Only exact ids are compared: ordering by id would drop real
//! events that share a millisecond or arrive out of order.

use std::collections::{HashSet, VecDeque};

pub struct RecentIds {
    capacity: usize,
    order: VecDeque<String>,
    ids: HashSet<String>,
}

impl RecentIds {
    pub fn new(capacity: usize) -> Self {
        RecentIds {
            capacity: capacity.max(1),
            order: VecDeque::new(),
            ids: HashSet::new(),
        }
    }

    /// Remembers `id`; false when it was already among the recent ids (a repeat).
    pub fn insert(&mut self, id: &str) -> bool {
        if self.ids.contains(id) {
            return false;
        }
        if self.order.len() == self.capacity {
            if let Some(oldest) = self.order.pop_front() {
                self.ids.remove(&oldest);
            }
        }
        self.order.push_back(id.to_owned());
        self.ids.insert(id.to_owned());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_are_found_and_the_oldest_ids_are_forgotten() {
        let mut recent = RecentIds::new(2);
        assert!(recent.insert("a"));
        assert!(!recent.insert("a"));
        assert!(recent.insert("b"));
        assert!(recent.insert("c"));
        assert!(recent.insert("a"), "a was forgotten when c came");
        assert!(!recent.insert("c"));
    }

    #[test]
    fn ids_out_of_order_are_not_repeats() {
        let mut recent = RecentIds::new(10);
        assert!(recent.insert("0190ec04-a5f0-731e-bb68-a9b89d37669f"));
        assert!(recent.insert("0190cd04-9520-7120-8a5e-a8866b8eca40"));
    }
}
