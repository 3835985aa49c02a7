//! The verdicts a summary keeps for the reports that list them after the last verdict
//! (the terminal table, the fix plan, the workbook's plan sheet, the HTML report).
//!
//! On a tenant where little is credited that is nearly every verdict: a million of them
//! at about a kilobyte each. So a [`VerdictList`] holds its first verdicts in memory and
//! writes the rest, one MessagePack record each, to an unnamed temporary file that the
//! operating system removes when the list is dropped (or the process ends). A typical
//! tenant never touches the disk; a huge one costs the memory of the held part only.
//! Reading the list back yields the verdicts in the order they were added, as often as
//! a report needs them.

use crate::findings::Verdict;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::{Arc, Mutex};

/// How many verdicts a list holds in memory before it writes the rest to disk: about
/// 60 MB of verdicts, more than most tenants have that are not attributed.
pub const HELD_IN_MEMORY: usize = 50_000;

/// Bytes read from the temporary file at a time.
const READ_BLOCK: usize = 1 << 18;

/// Reading the verdicts back failed: the temporary file could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("keeping the verdicts that are not attributed in a temporary file: {0}")]
    Io(#[from] std::io::Error),
    #[error("encoding a verdict for the temporary file of verdicts: {0}")]
    Encode(#[from] rmp_serde::encode::Error),
    #[error("reading back verdict {index} from the temporary file of verdicts: {message}")]
    Decode { index: usize, message: String },
}

/// Collects verdicts into a [`VerdictList`].
#[derive(Debug)]
pub struct VerdictListBuilder {
    held: Vec<Verdict>,
    held_limit: usize,
    /// The temporary file, once a verdict did not fit in memory.
    spill: Option<BufWriter<File>>,
    spilled: usize,
    /// Bytes written to the temporary file so far.
    spilled_bytes: u64,
    /// File offset of every [`CHUNK`]th spilled record, so the file can be read back
    /// in chunks on several threads at once.
    chunk_starts: Vec<u64>,
    /// One record, encoded before it is written (its length is its offset's step).
    record: Vec<u8>,
    /// The first error writing to the temporary file: pushing never fails, so a caller
    /// that streams verdicts is not interrupted; [`VerdictListBuilder::finish`] says it.
    failed: Option<ListError>,
}

impl Default for VerdictListBuilder {
    fn default() -> Self {
        Self::new(HELD_IN_MEMORY)
    }
}

impl VerdictListBuilder {
    /// A builder that holds up to `held_limit` verdicts in memory.
    pub fn new(held_limit: usize) -> Self {
        VerdictListBuilder {
            held: Vec::new(),
            held_limit,
            spill: None,
            spilled: 0,
            spilled_bytes: 0,
            chunk_starts: Vec::new(),
            record: Vec::new(),
            failed: None,
        }
    }

    pub fn push(&mut self, verdict: Verdict) {
        if self.held.len() < self.held_limit {
            self.held.push(verdict);
            return;
        }
        self.push_past_held(&verdict);
    }

    /// [`VerdictListBuilder::push`] for a verdict the caller keeps: copied only if it is
    /// held in memory.
    pub fn push_borrowed(&mut self, verdict: &Verdict) {
        if self.held.len() < self.held_limit {
            self.held.push(verdict.clone());
            return;
        }
        self.push_past_held(verdict);
    }

    /// Writes a verdict that does not fit in memory to the temporary file.
    fn push_past_held(&mut self, verdict: &Verdict) {
        if self.failed.is_some() {
            // Counted, so the list's length is still every verdict pushed; `finish`
            // reports the failure.
            self.spilled += 1;
            return;
        }
        if let Err(e) = self.spill(verdict) {
            self.failed = Some(e);
        }
        self.spilled += 1;
    }

    fn spill(&mut self, verdict: &Verdict) -> Result<(), ListError> {
        let writer = match &mut self.spill {
            Some(writer) => writer,
            None => self
                .spill
                .insert(BufWriter::with_capacity(READ_BLOCK, tempfile::tempfile()?)),
        };
        // Named fields: verdicts leave out empty optional fields when serialized, which
        // a positional encoding could not read back.
        self.record.clear();
        rmp_serde::encode::write_named(&mut self.record, verdict)?;
        if self.spilled.is_multiple_of(CHUNK) {
            self.chunk_starts.push(self.spilled_bytes);
        }
        writer.write_all(&self.record)?;
        self.spilled_bytes += self.record.len() as u64;
        Ok(())
    }

    /// The list, readable; an error if the temporary file could not be written.
    pub fn finish(self) -> Result<VerdictList, ListError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let spilled = match self.spill {
            None => None,
            Some(writer) => {
                let file = writer.into_inner().map_err(|e| e.into_error())?;
                let mut chunk_starts = self.chunk_starts;
                chunk_starts.push(self.spilled_bytes);
                Some(Arc::new(Spilled {
                    file: Mutex::new(file),
                    count: self.spilled,
                    chunk_starts,
                }))
            }
        };
        Ok(VerdictList {
            held: self.held,
            spilled,
        })
    }
}

/// Verdicts in the order they were added: the first ones in memory, the rest read back
/// from a temporary file. Cloning shares the file.
#[derive(Clone, Default)]
pub struct VerdictList {
    held: Vec<Verdict>,
    spilled: Option<Arc<Spilled>>,
}

struct Spilled {
    /// Shared by every reader: each keeps its own position and seeks before it reads.
    file: Mutex<File>,
    count: usize,
    /// File offset of every [`CHUNK`]th record, then the file's length.
    chunk_starts: Vec<u64>,
}

/// Verdicts in a [`Chunk`] of a list (the last may hold fewer).
pub const CHUNK: usize = 512;

/// A run of at most [`CHUNK`] consecutive verdicts of a [`VerdictList`] that can be read
/// on its own, on any thread: a list is read in parallel chunk by chunk, each decoded,
/// used and dropped where it is read.
#[derive(Debug, Clone, Copy)]
pub struct Chunk<'a> {
    list: &'a VerdictList,
    /// Position of its first verdict in the whole list.
    pub first: usize,
    /// How many verdicts it holds.
    pub len: usize,
    place: Place,
}

#[derive(Debug, Clone, Copy)]
enum Place {
    Held,
    /// The `n`th chunk of the temporary file.
    Spilled(usize),
}

impl<'a> Chunk<'a> {
    /// Its verdicts in order: borrowed where held, decoded where spilled.
    pub fn verdicts(&self) -> Result<Vec<Cow<'a, Verdict>>, ListError> {
        let list = self.list;
        match self.place {
            Place::Held => Ok(list.held[self.first..self.first + self.len]
                .iter()
                .map(Cow::Borrowed)
                .collect()),
            Place::Spilled(n) => {
                let spilled = list
                    .spilled
                    .as_deref()
                    .expect("a spilled chunk belongs to a spilled list");
                let (start, end) = (spilled.chunk_starts[n], spilled.chunk_starts[n + 1]);
                let mut bytes = vec![0; (end - start) as usize];
                let read = {
                    let mut file = spilled
                        .file
                        .lock()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    file.seek(SeekFrom::Start(start))?;
                    read_full(&mut *file, &mut bytes)?
                };
                let mut rest = &bytes[..read];
                let mut out = Vec::with_capacity(self.len);
                for index in self.first..self.first + self.len {
                    let mut de = rmp_serde::Deserializer::new(&mut rest);
                    let v = Verdict::deserialize(&mut de).map_err(|e| ListError::Decode {
                        index,
                        message: if is_short(&e) {
                            "the file ends inside the record".into()
                        } else {
                            e.to_string()
                        },
                    })?;
                    out.push(Cow::Owned(v));
                }
                // A record damaged into another valid one would shift the rest.
                if !rest.is_empty() {
                    return Err(ListError::Decode {
                        index: self.first + self.len - 1,
                        message: "the chunk holds bytes after its last record".into(),
                    });
                }
                Ok(out)
            }
        }
    }
}

impl VerdictList {
    pub fn len(&self) -> usize {
        self.held.len() + self.spilled.as_ref().map_or(0, |s| s.count)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when every verdict is in memory.
    pub fn is_held(&self) -> bool {
        self.spilled.is_none()
    }

    /// The verdicts in order: borrowed where held, decoded where spilled.
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            held: self.held.iter(),
            spilled: self.spilled.as_deref().map(|s| SpillReader {
                spilled: s,
                read: 0,
                pos: 0,
                buf: Vec::new(),
                at: 0,
            }),
            index: 0,
        }
    }

    /// The list in consecutive [`Chunk`]s of at most [`CHUNK`] verdicts, in order.
    pub fn chunks(&self) -> Vec<Chunk<'_>> {
        let mut chunks = Vec::with_capacity(self.len().div_ceil(CHUNK));
        for first in (0..self.held.len()).step_by(CHUNK) {
            chunks.push(Chunk {
                list: self,
                first,
                len: CHUNK.min(self.held.len() - first),
                place: Place::Held,
            });
        }
        if let Some(s) = &self.spilled {
            for (n, at) in (0..s.count).step_by(CHUNK).enumerate() {
                chunks.push(Chunk {
                    list: self,
                    first: self.held.len() + at,
                    len: CHUNK.min(s.count - at),
                    place: Place::Spilled(n),
                });
            }
        }
        chunks
    }

    /// Every verdict, each changed by `f`, as a new list (spilled as this one would be).
    pub fn map(&self, mut f: impl FnMut(&mut Verdict)) -> Result<VerdictList, ListError> {
        let mut out = VerdictListBuilder::new(self.held.len());
        for v in self.iter() {
            let mut v = v?.into_owned();
            f(&mut v);
            out.push(v);
        }
        out.finish()
    }
}

impl From<Vec<Verdict>> for VerdictList {
    fn from(held: Vec<Verdict>) -> Self {
        VerdictList {
            held,
            spilled: None,
        }
    }
}

impl fmt::Debug for VerdictList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerdictList")
            .field("len", &self.len())
            .field("held", &self.held.len())
            .finish()
    }
}

/// Lists are equal when they yield equal verdicts; a list that cannot be read back
/// equals nothing.
impl PartialEq for VerdictList {
    fn eq(&self, other: &Self) -> bool {
        if self.len() != other.len() {
            return false;
        }
        self.iter().zip(other.iter()).all(|pair| match pair {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        })
    }
}

impl Serialize for VerdictList {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{Error, SerializeSeq};
        let mut seq = serializer.serialize_seq(Some(self.len()))?;
        for v in self.iter() {
            seq.serialize_element(&*v.map_err(S::Error::custom)?)?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for VerdictList {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<Verdict>::deserialize(deserializer).map(VerdictList::from)
    }
}

/// Iterates a [`VerdictList`] in order.
pub struct Iter<'a> {
    held: std::slice::Iter<'a, Verdict>,
    spilled: Option<SpillReader<'a>>,
    /// Position in the whole list, for error messages.
    index: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Result<Cow<'a, Verdict>, ListError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(v) = self.held.next() {
            self.index += 1;
            return Some(Ok(Cow::Borrowed(v)));
        }
        let reader = self.spilled.as_mut()?;
        let index = self.index;
        self.index += 1;
        match reader.next_verdict(index) {
            Ok(Some(v)) => Some(Ok(Cow::Owned(v))),
            Ok(None) => {
                self.spilled = None;
                None
            }
            Err(e) => {
                // One error, then the end: a damaged file is not read further.
                self.spilled = None;
                Some(Err(e))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let rest = self.held.len()
            + self
                .spilled
                .as_ref()
                .map_or(0, |r| r.spilled.count - r.read);
        (rest, Some(rest))
    }
}

/// Reads records from the shared file at its own position.
struct SpillReader<'a> {
    spilled: &'a Spilled,
    /// Records read so far.
    read: usize,
    /// File offset of the end of `buf`.
    pos: u64,
    buf: Vec<u8>,
    /// Offset in `buf` of the next record.
    at: usize,
}

impl SpillReader<'_> {
    fn next_verdict(&mut self, index: usize) -> Result<Option<Verdict>, ListError> {
        if self.read == self.spilled.count {
            return Ok(None);
        }
        loop {
            let mut rest = &self.buf[self.at..];
            let before = rest.len();
            let mut de = rmp_serde::Deserializer::new(&mut rest);
            match Verdict::deserialize(&mut de) {
                Ok(v) => {
                    self.at += before - rest.len();
                    self.read += 1;
                    return Ok(Some(v));
                }
                // A record cut by the end of the block: read more and decode it again.
                Err(e) if is_short(&e) => {
                    if !self.refill()? {
                        return Err(ListError::Decode {
                            index,
                            message: "the file ends inside the record".into(),
                        });
                    }
                }
                Err(e) => {
                    return Err(ListError::Decode {
                        index,
                        message: e.to_string(),
                    });
                }
            }
        }
    }

    /// Appends the next block of the file to what is left of `buf`; false at its end.
    fn refill(&mut self) -> Result<bool, ListError> {
        self.buf.drain(..self.at);
        self.at = 0;
        let start = self.buf.len();
        self.buf.resize(start + READ_BLOCK, 0);
        let n = {
            let mut file = self
                .spilled
                .file
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            file.seek(SeekFrom::Start(self.pos))?;
            read_full(&mut *file, &mut self.buf[start..])?
        };
        self.buf.truncate(start + n);
        self.pos += n as u64;
        Ok(n > 0)
    }
}

/// Reads until `buf` is full or the reader ends; the count read.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match reader.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// True when decoding stopped because the bytes ran out, not because they were wrong.
fn is_short(e: &rmp_serde::decode::Error) -> bool {
    use rmp_serde::decode::Error;
    match e {
        Error::InvalidMarkerRead(io) | Error::InvalidDataRead(io) => {
            io.kind() == std::io::ErrorKind::UnexpectedEof
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Reason, Status, Suppression};
    use crate::inventory::ResourceType;
    use std::io::Write;

    fn verdict(i: usize) -> Verdict {
        let mut v = Verdict::new(
            ResourceType::CanvasApp,
            &format!("app-{i}"),
            // Long names so records straddle the read blocks.
            &format!("App {i} {}", "x".repeat(i % 5_000)),
            if i.is_multiple_of(3) {
                Status::Unknown
            } else {
                Status::Unattributed
            },
        );
        v.reasons = vec![Reason::IdentityDeleted];
        if i.is_multiple_of(7) {
            v.suppression = Some(Arc::new(Suppression {
                expires: chrono::NaiveDate::from_ymd_opt(2027, 1, 1).unwrap(),
                reason: format!("accepted {i}"),
                approved_by: "lead".into(),
                source: "suppressions.toml:3".into(),
            }));
        }
        v
    }

    fn list(n: usize, held: usize) -> VerdictList {
        let mut b = VerdictListBuilder::new(held);
        for i in 0..n {
            b.push(verdict(i));
        }
        b.finish().unwrap()
    }

    #[test]
    fn a_spilled_list_reads_back_every_verdict_in_order_more_than_once() {
        let l = list(600, 10);
        assert!(!l.is_held());
        assert_eq!(l.len(), 600);
        for _ in 0..2 {
            let back: Vec<Verdict> = l.iter().map(|v| v.unwrap().into_owned()).collect();
            let expected: Vec<Verdict> = (0..600).map(verdict).collect();
            assert_eq!(back, expected);
        }
        // Two readers at once keep their own places in the shared file.
        let mut a = l.iter().skip(20);
        let mut b = l.iter().skip(300);
        for i in 0..100 {
            assert_eq!(
                a.next().unwrap().unwrap().resource_id,
                format!("app-{}", 20 + i)
            );
            assert_eq!(
                b.next().unwrap().unwrap().resource_id,
                format!("app-{}", 300 + i)
            );
        }
    }

    #[test]
    fn a_small_list_stays_in_memory_and_equals_its_spilled_twin() {
        let held = list(50, 100);
        assert!(held.is_held());
        let spilled = list(50, 3);
        assert!(!spilled.is_held());
        assert_eq!(held, spilled);
        assert_ne!(held, list(49, 100));
        let cloned = spilled.clone();
        assert_eq!(cloned.iter().count(), 50);
    }

    #[test]
    fn map_changes_every_verdict_wherever_it_is_kept() {
        let l = list(40, 5);
        let marked = l.map(|v| v.suppression = None).unwrap();
        assert_eq!(marked.len(), 40);
        assert!(!marked.is_held());
        assert!(marked.iter().all(|v| v.unwrap().suppression.is_none()));
        // The original is untouched.
        assert!(l.iter().any(|v| v.unwrap().suppression.is_some()));
    }

    #[test]
    fn serializes_as_a_plain_list() {
        let l = list(12, 4);
        let json = serde_json::to_string(&l).unwrap();
        let back: VerdictList = serde_json::from_str(&json).unwrap();
        assert!(back.is_held());
        assert_eq!(back, l);
    }

    #[test]
    fn a_damaged_file_is_an_error_naming_the_verdict_not_a_panic() {
        let l = list(30, 2);
        {
            let s = l.spilled.as_ref().unwrap();
            let mut f = s.file.lock().unwrap();
            f.seek(SeekFrom::Start(3)).unwrap();
            f.write_all(&[0xc1; 64]).unwrap(); // 0xc1 is never used in MessagePack
        }
        let results: Vec<_> = l.iter().collect();
        assert_eq!(results.len(), 3, "two held, then one error and the end");
        let err = results[2].as_ref().unwrap_err().to_string();
        assert!(err.contains("verdict 2"), "{err}");
    }

    #[test]
    fn chunks_read_on_several_threads_are_the_list_in_order() {
        // Held only, spilled only, and a held part followed by a spilled one whose
        // chunks end part-way.
        for (n, held) in [
            (1_100, 2_000),
            (1_300, 0),
            (2 * CHUNK + 7, CHUNK + 3),
            (0, 5),
        ] {
            let l = list(n, held);
            let chunks = l.chunks();
            assert_eq!(chunks.iter().map(|c| c.len).sum::<usize>(), n);
            assert!(chunks.iter().all(|c| c.len <= CHUNK && c.len > 0));
            let read: Vec<Vec<Verdict>> = std::thread::scope(|scope| {
                let running: Vec<_> = chunks
                    .iter()
                    .rev()
                    .map(|c| {
                        scope.spawn(move || {
                            let vs = c.verdicts().unwrap();
                            assert_eq!(vs.len(), c.len);
                            (c.first, vs.into_iter().map(Cow::into_owned).collect())
                        })
                    })
                    .collect();
                let mut done: Vec<(usize, Vec<Verdict>)> =
                    running.into_iter().map(|t| t.join().unwrap()).collect();
                done.sort_by_key(|(first, _)| *first);
                done.into_iter().map(|(_, vs)| vs).collect()
            });
            let back: Vec<Verdict> = read.into_iter().flatten().collect();
            let expected: Vec<Verdict> = (0..n).map(verdict).collect();
            assert!(back == expected, "{n} verdicts, {held} held");
        }
    }

    #[test]
    fn a_damaged_chunk_is_an_error_naming_the_verdict_not_a_panic() {
        let l = list(CHUNK + 10, 2);
        {
            let s = l.spilled.as_ref().unwrap();
            let mut f = s.file.lock().unwrap();
            f.seek(SeekFrom::Start(s.chunk_starts[1] + 1)).unwrap();
            f.write_all(&[0xc1; 64]).unwrap();
        }
        let chunks = l.chunks();
        assert_eq!(chunks.len(), 3, "one held, two spilled");
        assert!(
            chunks[1].verdicts().is_ok(),
            "the first spilled chunk is intact"
        );
        let err = chunks[2].verdicts().unwrap_err().to_string();
        assert!(err.contains(&format!("verdict {}", 2 + CHUNK)), "{err}");
        // A file cut short ends inside a record.
        {
            let s = l.spilled.as_ref().unwrap();
            s.file
                .lock()
                .unwrap()
                .set_len(s.chunk_starts[1] - 5)
                .unwrap();
        }
        let err = chunks[1].verdicts().unwrap_err().to_string();
        assert!(err.contains("ends inside the record"), "{err}");
    }
}
