//! The visited set of a walk: one epoch mark per node in a per-thread array, so starting a walk
//! costs an increment instead of clearing (or allocating) a bitset of the whole graph.

use std::cell::RefCell;

/// Marks of one thread. A node is visited in the current walk when its mark equals `epoch`.
pub(crate) struct Visited {
    marks: Vec<u16>,
    epoch: u16,
}

impl Visited {
    fn new() -> Self {
        Visited {
            marks: Vec::new(),
            epoch: 0,
        }
    }

    /// Starts a walk over a graph of `n` nodes: nothing is visited.
    fn begin(&mut self, n: usize) {
        if self.marks.len() < n {
            self.marks.resize(n, 0);
        }
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.marks.iter_mut().for_each(|m| *m = 0);
            self.epoch = 1;
        }
    }

    /// Marks `node`; returns whether it was already marked in this walk (false for a node beyond
    /// the graph, which a caller never passes: indices are validated on load and insert).
    #[inline(always)]
    pub fn mark(&mut self, node: u32) -> bool {
        match self.marks.get_mut(node as usize) {
            Some(m) if *m == self.epoch => true,
            Some(m) => {
                *m = self.epoch;
                false
            }
            None => true,
        }
    }
}

thread_local! {
    static VISITED: RefCell<Visited> = RefCell::new(Visited::new());
}

/// Runs `f` with this thread's visited set, emptied for a graph of `n` nodes. A nested call (which
/// the walks never make) gets a fresh set instead of a borrow panic.
pub(crate) fn with_visited<T>(n: usize, f: impl FnOnce(&mut Visited) -> T) -> T {
    VISITED.with(|cell| match cell.try_borrow_mut() {
        Ok(mut v) => {
            v.begin(n);
            f(&mut v)
        }
        Err(_) => {
            let mut v = Visited::new();
            v.begin(n);
            f(&mut v)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_reset_between_walks_and_across_the_epoch_wrap() {
        let mut v = Visited::new();
        for _ in 0..70_000 {
            v.begin(10);
            assert!(!v.mark(3));
            assert!(v.mark(3));
            assert!(!v.mark(9));
        }
        assert!(v.mark(10), "beyond the graph counts as visited");
    }
}
