//! The scan shared by every search: visit blocks newest first, keep the
//! best `limit + 1` items, and stop as soon as no remaining block can hold
//! an item newer than the ones kept.

/// Items found so far, newest first by `key` (time first).
pub struct Newest<K: Ord, T> {
    limit: usize,
    items: Vec<(K, T)>,
}

impl<K: Ord + Clone, T> Newest<K, T> {
    /// Keeps `limit` items plus one to know whether a next page exists.
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            items: Vec::new(),
        }
    }

    pub fn push(&mut self, key: K, item: T) {
        self.items.push((key, item));
    }

    /// Sorts and trims after a block; cheap enough per block.
    pub fn settle(&mut self) {
        self.items.sort_by(|a, b| b.0.cmp(&a.0));
        self.items.truncate(self.limit + 1);
    }

    /// After [`settle`](Self::settle): true when the page is full and its
    /// oldest item's time is newer than anything a block whose newest item
    /// is at `next_max_time` can hold.
    pub fn is_final(&self, next_max_time: u64, time_of: impl Fn(&K) -> u64) -> bool {
        self.items.len() > self.limit
            && self
                .items
                .get(self.limit)
                .is_some_and(|(k, _)| time_of(k) > next_max_time)
    }

    /// After [`settle`](Self::settle): once a full page plus one is held,
    /// the time below which nothing can enter it any more (items at this
    /// time still can, by their tie-breaker).
    pub fn threshold(&self, time_of: impl Fn(&K) -> u64) -> Option<u64> {
        if self.items.len() > self.limit {
            self.items.get(self.limit).map(|(k, _)| time_of(k))
        } else {
            None
        }
    }

    /// The page (newest first) and the key of its last item when more
    /// items follow.
    pub fn finish(mut self) -> (Vec<T>, Option<K>) {
        self.settle();
        let more = self.items.len() > self.limit;
        self.items.truncate(self.limit);
        let last = if more {
            self.items.last().map(|(k, _)| k.clone())
        } else {
            None
        };
        (self.items.into_iter().map(|(_, t)| t).collect(), last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_and_knows_when_to_stop() {
        let mut n: Newest<(u64, u32), &str> = Newest::new(2);
        n.push((5, 0), "a");
        n.push((9, 0), "b");
        n.settle();
        assert!(
            !n.is_final(4, |k| k.0),
            "only two items: a third may follow"
        );
        n.push((7, 0), "c");
        n.settle();
        assert!(n.is_final(4, |k| k.0));
        assert!(!n.is_final(5, |k| k.0), "an equal time may still come");
        let (page, last) = n.finish();
        assert_eq!(page, vec!["b", "c"]);
        assert_eq!(last, Some((7, 0)));
    }
}
