//! `Shared<T>`: an `Rc` compared by pointer, so large data (a trace, its
//! rows) in props and memo keys costs nothing to compare.

use std::ops::Deref;
use std::rc::Rc;

pub struct Shared<T>(pub Rc<T>);

impl<T> Shared<T> {
    pub fn new(v: T) -> Self {
        Self(Rc::new(v))
    }
}

impl<T> Clone for Shared<T> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<T> PartialEq for Shared<T> {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }
}

impl<T> Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compares_by_pointer() {
        let a = Shared::new(vec![1]);
        let b = Shared::new(vec![1]);
        assert!(a == a.clone());
        assert!(a != b);
    }
}
