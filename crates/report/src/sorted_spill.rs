//! Items put in order without holding them all: an external merge sort.
//!
//! A report that lists resources in its own order (the markdown checklist, by
//! environment name) cannot write an item until the last verdict has arrived. Holding
//! every item would make a million-resource tenant cost gigabytes, so items are kept in
//! runs of at most [`RUN_BYTES`]: each full run is sorted and written to an unnamed
//! temporary file (the OS removes it), and reading merges the runs. The order is stable:
//! items that compare equal come out in the order they were pushed.

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Seek, SeekFrom};

/// How much item data a run holds before it is sorted and spilled.
pub(crate) const RUN_BYTES: usize = 16 << 20;

/// An item of a [`SortedSpill`]: how it is ordered, and roughly how many bytes it holds.
pub(crate) trait Spillable: Serialize + DeserializeOwned {
    fn order(&self, other: &Self) -> Ordering;
    /// The heap bytes the item holds (strings' lengths), to size runs by.
    fn bytes(&self) -> usize;
}

/// Items pushed in any order, read back sorted by [`Spillable::order`].
pub(crate) struct SortedSpill<T> {
    run: Vec<T>,
    run_bytes: usize,
    limit: usize,
    /// Sorted runs already written, in the order they were spilled.
    spilled: Vec<File>,
}

impl<T: Spillable> SortedSpill<T> {
    pub(crate) fn new() -> SortedSpill<T> {
        SortedSpill::with_run_bytes(RUN_BYTES)
    }

    /// A spill whose runs hold about `limit` bytes (small in tests, to force spilling).
    pub(crate) fn with_run_bytes(limit: usize) -> SortedSpill<T> {
        SortedSpill {
            run: Vec::new(),
            run_bytes: 0,
            limit,
            spilled: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, item: T) -> std::io::Result<()> {
        self.run_bytes += item.bytes() + std::mem::size_of::<T>();
        self.run.push(item);
        if self.run_bytes >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorts the current run and writes it to its own temporary file.
    fn spill(&mut self) -> std::io::Result<()> {
        self.run.sort_by(T::order);
        let mut out = BufWriter::new(tempfile::tempfile()?);
        for item in self.run.drain(..) {
            rmp_serde::encode::write_named(&mut out, &item).map_err(std::io::Error::other)?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        self.spilled.push(file);
        self.run_bytes = 0;
        Ok(())
    }

    /// Every item, in order. Nothing spilled: the held run, sorted. Otherwise the last
    /// run is spilled too and all runs are merged, one item of each held at a time.
    pub(crate) fn into_sorted(mut self) -> std::io::Result<Sorted<T>> {
        if self.spilled.is_empty() {
            self.run.sort_by(T::order);
            return Ok(Sorted::Held(self.run.into_iter()));
        }
        if !self.run.is_empty() {
            self.spill()?;
        }
        let mut runs: Vec<BufReader<File>> = self.spilled.into_iter().map(BufReader::new).collect();
        let mut heads = BinaryHeap::with_capacity(runs.len());
        for (run, reader) in runs.iter_mut().enumerate() {
            if let Some(item) = read_one(reader)? {
                heads.push(Head { item, run });
            }
        }
        Ok(Sorted::Merged { runs, heads })
    }
}

fn read_one<T: DeserializeOwned>(reader: &mut BufReader<File>) -> std::io::Result<Option<T>> {
    use std::io::BufRead;
    if reader.fill_buf()?.is_empty() {
        return Ok(None);
    }
    rmp_serde::decode::from_read(reader)
        .map(Some)
        .map_err(std::io::Error::other)
}

/// The next item of one run, ordered for a min-heap: smallest item first, and among equal
/// items the earlier run (so the merge is stable).
pub(crate) struct Head<T> {
    item: T,
    run: usize,
}

impl<T: Spillable> Ord for Head<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .item
            .order(&self.item)
            .then_with(|| other.run.cmp(&self.run))
    }
}

impl<T: Spillable> PartialOrd for Head<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Spillable> PartialEq for Head<T> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl<T: Spillable> Eq for Head<T> {}

/// The items of a [`SortedSpill`] in order; a run file that cannot be read back is an
/// error, not a shorter list.
pub(crate) enum Sorted<T> {
    Held(std::vec::IntoIter<T>),
    Merged {
        runs: Vec<BufReader<File>>,
        heads: BinaryHeap<Head<T>>,
    },
}

impl<T: Spillable> Iterator for Sorted<T> {
    type Item = std::io::Result<T>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Sorted::Held(items) => items.next().map(Ok),
            Sorted::Merged { runs, heads } => {
                let Head { item, run } = heads.pop()?;
                match read_one(&mut runs[run]) {
                    Ok(Some(next)) => heads.push(Head { item: next, run }),
                    Ok(None) => {}
                    Err(e) => {
                        heads.clear();
                        return Some(Err(e));
                    }
                }
                Some(Ok(item))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::io::Write;

    #[derive(Serialize, Deserialize, Debug, PartialEq, Clone)]
    struct Word {
        key: String,
        pushed: usize,
    }

    impl Spillable for Word {
        fn order(&self, other: &Self) -> Ordering {
            self.key.cmp(&other.key)
        }
        fn bytes(&self) -> usize {
            self.key.len()
        }
    }

    fn words(n: usize) -> Vec<Word> {
        // Few distinct keys, so equal keys are spread over many runs.
        (0..n)
            .map(|i| Word {
                key: format!("k{:02}", (i * 7919) % 37),
                pushed: i,
            })
            .collect()
    }

    fn sorted(items: &[Word], run_bytes: usize) -> (Vec<Word>, usize) {
        let mut spill = SortedSpill::with_run_bytes(run_bytes);
        for w in items {
            spill.push(w.clone()).unwrap();
        }
        let runs = spill.spilled.len();
        let out = spill
            .into_sorted()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        (out, runs)
    }

    #[test]
    fn merged_runs_give_the_stable_order_of_one_sort() {
        let items = words(5_000);
        let mut expected = items.clone();
        expected.sort_by(Word::order);
        let (held, runs) = sorted(&items, usize::MAX);
        assert_eq!(runs, 0);
        assert_eq!(held, expected);
        let (merged, runs) = sorted(&items, 4_000);
        assert!(runs > 10, "{runs} runs");
        assert_eq!(merged, expected);
    }

    #[test]
    fn empty_and_single_item() {
        assert!(sorted(&[], 1).0.is_empty());
        let one = words(1);
        assert_eq!(sorted(&one, 1).0, one);
    }

    #[test]
    fn a_damaged_run_is_an_error() {
        let mut spill = SortedSpill::with_run_bytes(1);
        for w in words(10) {
            spill.push(w).unwrap();
        }
        let mut file = spill.spilled[3].try_clone().unwrap();
        file.set_len(0).unwrap();
        file.write_all(&[0xc1, 0xc1, 0xc1]).unwrap();
        file.seek(SeekFrom::Start(0)).unwrap();
        let results: Vec<_> = spill
            .into_sorted()
            .map(|s| s.collect())
            .unwrap_or_else(|e| vec![Err(e)]);
        assert!(results.iter().any(|r: &std::io::Result<Word>| r.is_err()));
    }
}
