//! Lists that grow by pages ("load more") and refresh in place: a poll
//! re-reads the first page and merges it so rows already shown keep their
//! place and the pages loaded after it stay. Pure and tested natively.

/// A list shown page by page, newest first.
#[derive(Clone, Debug, PartialEq)]
pub struct Paged<T> {
    pub items: Vec<T>,
    /// The cursor of the page after the last one shown.
    pub next_cursor: Option<String>,
}

impl<T> Default for Paged<T> {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            next_cursor: None,
        }
    }
}

impl<T: Clone> Paged<T> {
    /// The first page.
    pub fn first(items: Vec<T>, next_cursor: Option<String>) -> Self {
        Self { items, next_cursor }
    }

    /// Appends the next page, skipping items already shown (an item can move
    /// between pages while data arrives).
    pub fn append<K: PartialEq>(
        &mut self,
        page: Vec<T>,
        next_cursor: Option<String>,
        key: impl Fn(&T) -> K,
    ) {
        let fresh: Vec<T> = page
            .into_iter()
            .filter(|p| !self.items.iter().any(|i| key(i) == key(p)))
            .collect();
        self.items.extend(fresh);
        self.next_cursor = next_cursor;
    }

    /// Merges a re-read first page: its items (new ones on top, known ones
    /// updated) followed by the items shown below it, so further pages loaded
    /// earlier stay. When the first page no longer reaches any item shown
    /// before (more new items than a page), it replaces the list.
    pub fn refresh<K: PartialEq>(
        &mut self,
        page: Vec<T>,
        next_cursor: Option<String>,
        key: impl Fn(&T) -> K,
    ) {
        let Some(last) = page.last() else {
            *self = Self::first(page, next_cursor);
            return;
        };
        let last_key = key(last);
        let Some(pos) = self.items.iter().position(|i| key(i) == last_key) else {
            *self = Self::first(page, next_cursor);
            return;
        };
        let rest: Vec<T> = self.items[pos + 1..]
            .iter()
            .filter(|i| !page.iter().any(|p| key(p) == key(i)))
            .cloned()
            .collect();
        let had_more_pages = self.items.len() > pos + 1;
        let mut items = page;
        items.extend(rest);
        self.items = items;
        if !had_more_pages {
            self.next_cursor = next_cursor;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(p: &Paged<(u32, &'static str)>) -> Vec<u32> {
        p.items.iter().map(|i| i.0).collect()
    }

    #[test]
    fn load_more_skips_repeats() {
        let mut p = Paged::first(vec![(9, ""), (8, "")], Some("c1".into()));
        p.append(vec![(8, ""), (7, "")], None, |i| i.0);
        assert_eq!(ids(&p), [9, 8, 7]);
        assert_eq!(p.next_cursor, None);
    }

    #[test]
    fn refresh_puts_new_items_on_top_and_keeps_later_pages() {
        let mut p = Paged::first(vec![(9, "a"), (8, "a")], Some("c1".into()));
        p.append(vec![(7, "a"), (6, "a")], Some("c2".into()), |i| i.0);
        // Two new items; 9 changed; the page ends at 8.
        p.refresh(
            vec![(11, "n"), (10, "n"), (9, "b"), (8, "a")],
            Some("x".into()),
            |i| i.0,
        );
        assert_eq!(ids(&p), [11, 10, 9, 8, 7, 6]);
        assert_eq!(p.items[2].1, "b");
        // Later pages were loaded: their cursor stays.
        assert_eq!(p.next_cursor.as_deref(), Some("c2"));
    }

    #[test]
    fn refresh_of_a_single_page_takes_the_new_cursor() {
        let mut p = Paged::first(vec![(2, ""), (1, "")], None);
        p.refresh(vec![(3, ""), (2, "")], Some("c".into()), |i| i.0);
        assert_eq!(ids(&p), [3, 2, 1]);
        p = Paged::first(vec![(2, ""), (1, "")], None);
        p.refresh(vec![(3, ""), (2, ""), (1, "")], None, |i| i.0);
        assert_eq!(ids(&p), [3, 2, 1]);
        assert_eq!(p.next_cursor, None);
    }

    #[test]
    fn refresh_without_overlap_starts_over() {
        let mut p = Paged::first(vec![(2, ""), (1, "")], None);
        p.refresh(vec![(9, ""), (8, "")], Some("c".into()), |i| i.0);
        assert_eq!(ids(&p), [9, 8]);
        assert_eq!(p.next_cursor.as_deref(), Some("c"));
        p.refresh(vec![], None, |i| i.0);
        assert!(p.items.is_empty());
    }
}
