//! The collection journal behind `palaudit collect --resume`: every successful read
//! answer of a run, kept on disk beside the snapshot as it arrives, so that a run cut
//! short (Ctrl-C, a kill, a lost network) can be continued without asking the APIs again
//! for what they already answered.
//!
//! The journal is `<out>.journal/` ([`journal_dir_for`]), a sibling of the snapshot like
//! `<out>.raw/`. It holds two files:
//! - `journal.json`: the format, the palaudit version, the tenant id and a fingerprint of
//!   everything in the config that shapes requests ([`fingerprint`]). A resumed run whose
//!   config does not match is refused: its requests would not be the journaled ones, or
//!   worse, the same URLs would mean something else.
//! - `answers.log`: one record per answer, appended and flushed as the answer arrives.
//!   A record is `PAJ1`, the sha256 of the request's key, the body's length, the body,
//!   and a sha256 of all of that. Reading stops at the
//!   first record that is short or whose checksum does not match (the tail a kill tore
//!   off mid-write), and the file is cut back to the last whole record before anything is
//!   appended to it again.
//!
//! A request's key is its method, URL and JSON body, never its headers: the bearer token
//! is not part of what the API answered, and a token from a later sign-in must still find
//! the answer. Only the key's hash is stored, so no URL is kept either. Bodies are stored
//! with every known secret redacted ([`crate::secret::redact_bytes`]), as raw pages are.
//!
//! The same request can be asked more than once in a run with different answers (the
//! Power BI scanner's `scanStatus` is polled until it says `Succeeded`), so a key's
//! answers are given back in the order they were journaled: the n-th time a resumed run
//! asks a key, it gets the n-th answer the journal holds for it, and the network once the
//! journal has no more. Failed attempts are never journaled, so they leave no gap.

use sha2::{Digest, Sha256};
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// The journal's on-disk format: changes when records or the header change.
const FORMAT: u32 = 1;
const HEADER_FILE: &str = "journal.json";
const ANSWERS_FILE: &str = "answers.log";
const MAGIC: &[u8; 4] = b"PAJ1";
/// Magic, key hash, body length.
const HEAD_LEN: usize = 4 + 32 + 4;
const SUM_LEN: usize = 32;

/// The journal directory of a snapshot at `out`: `<out>.journal` beside it.
pub fn journal_dir_for(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "snapshot".into());
    out.with_file_name(format!("{name}.journal"))
}

/// Why a journal cannot be used; names the journal's directory.
#[derive(Debug, thiserror::Error)]
#[error("collection journal {}: {message}", path.display())]
pub struct JournalError {
    pub path: PathBuf,
    pub message: String,
}

impl JournalError {
    fn new(path: &Path, message: impl Into<String>) -> JournalError {
        JournalError {
            path: path.to_owned(),
            message: message.into(),
        }
    }

    fn io(path: &Path, what: &str, e: std::io::Error) -> JournalError {
        JournalError::new(path, format!("{what}: {e}"))
    }
}

/// What a journal was written for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct JournalHeader {
    pub format: u32,
    pub tool_version: String,
    pub tenant_id: String,
    /// [`fingerprint`] of the config of the run that started the journal.
    pub fingerprint: String,
}

impl JournalHeader {
    pub fn new(tenant_id: &str, fingerprint: &str) -> JournalHeader {
        JournalHeader {
            format: FORMAT,
            tool_version: concat!("palaudit ", env!("CARGO_PKG_VERSION")).to_owned(),
            tenant_id: tenant_id.to_owned(),
            fingerprint: fingerprint.to_owned(),
        }
    }
}

/// A fingerprint of what shapes a collection's requests: the tenant, the cloud, every
/// endpoint and scope, and the `[collect]` settings that change which requests are sent
/// or how they page (`powerbi`, the page sizes, `powerbi_auto_threshold`,
/// `environments`, `flow_owners`). Settings that only change how fast or how often
/// requests are sent (`concurrency`, retries, timeouts) are left out, so a resumed run
/// may change them. The palaudit version is in it too: another version's collectors
/// may ask other questions.
pub fn fingerprint(config: &crate::config::Config) -> String {
    let c = &config.collect;
    let text = format!(
        "palaudit {}\ntenant {}\ncloud {:?}\nendpoints {:?}\nscopes {:?}\npowerbi {:?}\npowerbi_page_size {}\npowerbi_auto_threshold {}\ndataverse_page_size {}\nenvironments {:?}\nflow_owners {:?}\n",
        env!("CARGO_PKG_VERSION"),
        config.tenant_id,
        config.cloud,
        config.endpoints,
        config.scopes,
        c.powerbi,
        c.powerbi_page_size,
        c.powerbi_auto_threshold,
        c.dataverse_page_size,
        c.environments,
        c.flow_owners,
    );
    format!("sha256:{}", hex::encode(Sha256::digest(text.as_bytes())))
}

/// A request as the journal knows it: the sha256 of its method, URL and body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key([u8; 32]);

impl Key {
    /// The key of `method url` with the JSON `body` (none for a `GET`). Headers, the
    /// bearer token among them, are never part of it.
    pub fn new(method: &str, url: &str, body: Option<&serde_json::Value>) -> Key {
        let mut h = Sha256::new();
        h.update(method.as_bytes());
        h.update(b"\n");
        h.update(url.as_bytes());
        h.update(b"\n");
        if let Some(b) = body {
            // serde_json writes an object's keys in the order it holds them, which is
            // the order palaudit builds them in: the same request gives the same bytes.
            h.update(b.to_string().as_bytes());
        }
        Key(h.finalize().into())
    }
}

/// Where the answers of one run go, and where a resumed run finds the earlier ones.
pub struct Journal {
    dir: PathBuf,
    file: Mutex<Option<std::fs::File>>,
    /// Answers read from disk and not given yet, per key in journal order.
    answers: Mutex<Answers>,
    replayed: AtomicU64,
    recorded: AtomicU64,
    /// Answers read from disk when the journal was opened.
    loaded: u64,
}

impl std::fmt::Debug for Journal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Journal")
            .field("dir", &self.dir)
            .field("loaded", &self.loaded)
            .finish_non_exhaustive()
    }
}

/// Whether `dir` is a journal palaudit wrote (or an empty directory).
fn is_journal(dir: &Path) -> Result<bool, JournalError> {
    if dir.join(HEADER_FILE).is_file() {
        return Ok(true);
    }
    let mut entries =
        std::fs::read_dir(dir).map_err(|e| JournalError::io(dir, "cannot read it", e))?;
    Ok(entries.next().is_none())
}

impl Journal {
    /// Whether a journal is at `dir`.
    pub fn exists(dir: &Path) -> bool {
        dir.join(HEADER_FILE).is_file()
    }

    /// Removes the journal at `dir`, if there is one; refuses a directory that is not a
    /// palaudit journal.
    pub fn discard(dir: &Path) -> Result<bool, JournalError> {
        if !dir.exists() {
            return Ok(false);
        }
        if !dir.is_dir() || !is_journal(dir)? {
            return Err(JournalError::new(
                dir,
                "exists and is not a palaudit collection journal; refusing to replace it",
            ));
        }
        std::fs::remove_dir_all(dir).map_err(|e| JournalError::io(dir, "cannot remove it", e))?;
        Ok(true)
    }

    /// Starts an empty journal at `dir` (creating its parent directories), replacing an
    /// earlier journal there.
    pub fn create(dir: &Path, header: &JournalHeader) -> Result<Journal, JournalError> {
        Journal::discard(dir)?;
        std::fs::create_dir_all(dir).map_err(|e| JournalError::io(dir, "cannot create it", e))?;
        let json = serde_json::to_vec_pretty(header)
            .map_err(|e| JournalError::new(dir, format!("cannot write its header: {e}")))?;
        // The header goes in whole or not at all: a journal without one is no journal.
        let tmp = dir.join(format!("{HEADER_FILE}.tmp"));
        std::fs::write(&tmp, json).map_err(|e| JournalError::io(&tmp, "cannot write", e))?;
        std::fs::rename(&tmp, dir.join(HEADER_FILE))
            .map_err(|e| JournalError::io(dir, "cannot write its header", e))?;
        let path = dir.join(ANSWERS_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(true)
            .write(true)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "cannot create", e))?;
        Ok(Journal::with(dir, file, HashMap::new(), 0))
    }

    /// Opens the journal at `dir` to resume from it: refused when it was written for
    /// another tenant, config or palaudit version. A torn last record is dropped.
    pub fn open(dir: &Path, expected: &JournalHeader) -> Result<Journal, JournalError> {
        let header_path = dir.join(HEADER_FILE);
        let text = std::fs::read(&header_path)
            .map_err(|e| JournalError::io(&header_path, "cannot read", e))?;
        let header: JournalHeader = serde_json::from_slice(&text).map_err(|e| {
            JournalError::new(
                dir,
                format!("its header {HEADER_FILE} cannot be read ({e}); collect without --resume"),
            )
        })?;
        if header.format != expected.format {
            return Err(JournalError::new(
                dir,
                format!(
                    "it is in format {}, this palaudit reads format {}; collect without --resume",
                    header.format, expected.format
                ),
            ));
        }
        if header.tenant_id != expected.tenant_id {
            return Err(JournalError::new(
                dir,
                format!(
                    "it was written for tenant {}, the config names tenant {}; collect without --resume to start over",
                    header.tenant_id, expected.tenant_id
                ),
            ));
        }
        if header.tool_version != expected.tool_version {
            return Err(JournalError::new(
                dir,
                format!(
                    "it was written by {}, this is {}; collect without --resume to start over",
                    header.tool_version, expected.tool_version
                ),
            ));
        }
        if header.fingerprint != expected.fingerprint {
            return Err(JournalError::new(
                dir,
                "it was written with other settings (cloud, [endpoints] or [collect] settings that change requests, such as flow_owners or the page sizes); resume with the config of the interrupted run, or collect without --resume to start over",
            ));
        }
        let path = dir.join(ANSWERS_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| JournalError::io(&path, "cannot open", e))?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes)
            .map_err(|e| JournalError::io(&path, "cannot read", e))?;
        let (answers, good) = read_records(&bytes);
        let loaded = answers.values().map(|a| a.len() as u64).sum();
        if (good as u64) < bytes.len() as u64 {
            tracing::info!(
                "{}: {} byte(s) after the last whole answer dropped (a run was cut off while writing)",
                path.display(),
                bytes.len() - good
            );
        }
        // New answers go after the last whole record, never after a torn one.
        file.set_len(good as u64)
            .map_err(|e| JournalError::io(&path, "cannot cut off its torn tail", e))?;
        file.seek(std::io::SeekFrom::Start(good as u64))
            .map_err(|e| JournalError::io(&path, "cannot seek", e))?;
        Ok(Journal::with(dir, file, answers, loaded))
    }

    fn with(dir: &Path, file: std::fs::File, answers: Answers, loaded: u64) -> Journal {
        Journal {
            dir: dir.to_owned(),
            file: Mutex::new(Some(file)),
            answers: Mutex::new(answers),
            replayed: AtomicU64::new(0),
            recorded: AtomicU64::new(0),
            loaded,
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Answers the journal held when it was opened.
    pub fn loaded(&self) -> u64 {
        self.loaded
    }

    /// Answers given from the journal so far.
    pub fn replayed(&self) -> u64 {
        self.replayed.load(Ordering::Relaxed)
    }

    /// Answers written to the journal so far.
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    /// The next journaled answer to `key` not given yet in this run, if any (each is
    /// given once).
    pub fn ask(&self, key: &Key) -> Option<Vec<u8>> {
        let answer = self
            .answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(key)
            .and_then(VecDeque::pop_front);
        if answer.is_some() {
            self.replayed.fetch_add(1, Ordering::Relaxed);
        }
        answer
    }

    /// Appends an answer to `key`, flushed before this returns, so a kill right after
    /// loses nothing. A journal that cannot be written stops being written (the
    /// collection goes on; only a resume would ask again).
    pub fn record(&self, key: &Key, body: &[u8]) {
        let body = crate::secret::redact_bytes(body);
        let Ok(len) = u32::try_from(body.len()) else {
            return;
        };
        let mut rec = Vec::with_capacity(HEAD_LEN + body.len() + SUM_LEN);
        rec.extend_from_slice(MAGIC);
        rec.extend_from_slice(&key.0);
        rec.extend_from_slice(&len.to_le_bytes());
        rec.extend_from_slice(&body);
        let sum = Sha256::digest(&rec);
        rec.extend_from_slice(&sum);
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let Some(f) = file.as_mut() else {
            return;
        };
        // One write of the whole record: a kill leaves it whole or torn, never mixed
        // with another (the lock orders writers).
        if let Err(e) = f.write_all(&rec).and_then(|()| f.flush()) {
            tracing::warn!(
                "collection journal {}: cannot write an answer ({e}); the rest of this run is not journaled",
                self.dir.display()
            );
            *file = None;
            return;
        }
        self.recorded.fetch_add(1, Ordering::Relaxed);
    }

    /// The collection is complete and its snapshot in place: the journal goes. Nothing
    /// is journaled after this.
    pub fn remove(&self) -> Result<(), JournalError> {
        drop(self.file.lock().unwrap_or_else(|e| e.into_inner()).take());
        std::fs::remove_dir_all(&self.dir)
            .map_err(|e| JournalError::io(&self.dir, "cannot remove it", e))
    }
}

/// Journaled answers per key, in the order they were written.
type Answers = HashMap<Key, VecDeque<Vec<u8>>>;

/// The whole records of `bytes`, per key in order, and how many bytes they take.
fn read_records(bytes: &[u8]) -> (Answers, usize) {
    let mut answers = Answers::new();
    let mut at = 0usize;
    while let Some(rest) = bytes.get(at..) {
        let Some(head) = rest.get(..HEAD_LEN) else {
            break;
        };
        if &head[..4] != MAGIC {
            break;
        }
        let mut key = [0u8; 32];
        key.copy_from_slice(&head[4..36]);
        let len = u32::from_le_bytes([head[36], head[37], head[38], head[39]]) as usize;
        let Some(end) = HEAD_LEN
            .checked_add(len)
            .and_then(|l| l.checked_add(SUM_LEN))
        else {
            break;
        };
        let Some(rec) = rest.get(..end) else {
            break;
        };
        let (data, sum) = rec.split_at(HEAD_LEN + len);
        if Sha256::digest(data).as_slice() != sum {
            break;
        }
        answers
            .entry(Key(key))
            .or_default()
            .push_back(data[HEAD_LEN..].to_vec());
        at += end;
    }
    (answers, at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> JournalHeader {
        JournalHeader::new("t1", "sha256:abc")
    }

    #[test]
    fn answers_come_back_in_order_after_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("missing/parent/snap.journal");
        let a = Key::new("GET", "https://x/a", None);
        let b = Key::new(
            "POST",
            "https://x/b",
            Some(&serde_json::json!({"workspaces": ["w1"]})),
        );
        {
            let j = Journal::create(&jdir, &header()).unwrap();
            assert_eq!(j.ask(&a), None);
            j.record(&a, b"{\"status\":\"Running\"}");
            j.record(&b, b"{\"id\":\"scan\"}");
            j.record(&a, b"{\"status\":\"Succeeded\"}");
            assert_eq!(j.recorded(), 3);
        }
        let j = Journal::open(&jdir, &header()).unwrap();
        assert_eq!(j.loaded(), 3);
        assert_eq!(j.ask(&a).as_deref(), Some(&b"{\"status\":\"Running\"}"[..]));
        assert_eq!(
            j.ask(&a).as_deref(),
            Some(&b"{\"status\":\"Succeeded\"}"[..])
        );
        // The third time, the journal has nothing more: the network answers.
        assert_eq!(j.ask(&a), None);
        assert_eq!(j.ask(&b).as_deref(), Some(&b"{\"id\":\"scan\"}"[..]));
        // Another body is another request.
        let b2 = Key::new(
            "POST",
            "https://x/b",
            Some(&serde_json::json!({"workspaces": ["w2"]})),
        );
        assert_eq!(j.ask(&b2), None);
        assert_eq!(j.replayed(), 3);
        j.remove().unwrap();
        assert!(!jdir.exists());
    }

    #[test]
    fn a_torn_last_record_is_ignored_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("snap.journal");
        let a = Key::new("GET", "https://x/a", None);
        let b = Key::new("GET", "https://x/b", None);
        {
            let j = Journal::create(&jdir, &header()).unwrap();
            j.record(&a, b"{\"value\":[1]}");
            j.record(&b, b"{\"value\":[2]}");
        }
        let log = jdir.join(ANSWERS_FILE);
        let bytes = std::fs::read(&log).unwrap();
        let whole = bytes.len();
        // Every cut inside the second record leaves the first one readable.
        let first = HEAD_LEN + 13 + SUM_LEN;
        for cut in first..whole {
            std::fs::write(&log, &bytes[..cut]).unwrap();
            let j = Journal::open(&jdir, &header()).unwrap();
            assert_eq!(j.loaded(), 1, "cut at {cut}");
            assert!(j.ask(&a).is_some());
            assert_eq!(j.ask(&b), None);
            assert_eq!(std::fs::metadata(&log).unwrap().len(), first as u64);
        }
        // A flipped byte in the body fails the checksum.
        let mut bad = bytes.clone();
        bad[first + HEAD_LEN + 3] ^= 1;
        std::fs::write(&log, &bad).unwrap();
        let j = Journal::open(&jdir, &header()).unwrap();
        assert_eq!(j.loaded(), 1);
        // What comes after the cut is readable again.
        j.record(&b, b"{\"value\":[3]}");
        drop(j);
        let j = Journal::open(&jdir, &header()).unwrap();
        assert_eq!(j.loaded(), 2);
        assert_eq!(j.ask(&b).as_deref(), Some(&b"{\"value\":[3]}"[..]));
        // A length past the end of the file is a torn record, not a panic.
        let mut huge = bytes[..first].to_vec();
        huge.extend_from_slice(MAGIC);
        huge.extend_from_slice(&[0; 32]);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        std::fs::write(&log, &huge).unwrap();
        assert_eq!(Journal::open(&jdir, &header()).unwrap().loaded(), 1);
    }

    #[test]
    fn a_journal_of_another_tenant_config_or_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("snap.journal");
        Journal::create(&jdir, &header()).unwrap();
        let other_config = JournalHeader::new("t1", "sha256:def");
        let e = Journal::open(&jdir, &other_config).unwrap_err();
        assert_eq!(e.path, jdir);
        assert!(e.to_string().contains("snap.journal"), "{e}");
        assert!(e.to_string().contains("other settings"), "{e}");
        let e = Journal::open(&jdir, &JournalHeader::new("t2", "sha256:abc")).unwrap_err();
        assert!(e.to_string().contains("tenant t1"), "{e}");
        let mut newer = header();
        newer.tool_version = "palaudit 99.0.0".into();
        let e = Journal::open(&jdir, &newer).unwrap_err();
        assert!(e.to_string().contains("palaudit 99.0.0"), "{e}");
        // A broken header is refused by name too.
        std::fs::write(jdir.join(HEADER_FILE), b"{").unwrap();
        let e = Journal::open(&jdir, &header()).unwrap_err();
        assert!(e.to_string().contains("journal.json"), "{e}");
    }

    #[test]
    fn fingerprints_follow_the_settings_that_shape_requests() {
        use crate::config::{AuthMethod, Config, FlowOwners};
        let base = Config::new("t1", crate::cloud::Cloud::Public, AuthMethod::StaticToken);
        let fp = fingerprint(&base);
        let mut faster = base.clone();
        faster.collect.concurrency = 7;
        faster.collect.max_retries = 1;
        assert_eq!(fingerprint(&faster), fp);
        let mut creator = base.clone();
        creator.collect.flow_owners = FlowOwners::Creator;
        assert_ne!(fingerprint(&creator), fp);
        let mut paged = base.clone();
        paged.collect.dataverse_page_size = 10;
        assert_ne!(fingerprint(&paged), fp);
        let mut moved = base.clone();
        moved.endpoints.bap = "http://127.0.0.1:9/bap".into();
        assert_ne!(fingerprint(&moved), fp);
    }

    #[test]
    fn a_directory_that_is_not_a_journal_is_never_removed() {
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("snap.journal");
        std::fs::create_dir(&jdir).unwrap();
        std::fs::write(jdir.join("notes.txt"), b"mine").unwrap();
        let e = Journal::create(&jdir, &header()).unwrap_err();
        assert!(
            e.to_string().contains("not a palaudit collection journal"),
            "{e}"
        );
        assert!(jdir.join("notes.txt").exists());
    }

    #[test]
    fn known_secrets_never_reach_the_journal() {
        let token = "journal-test-bearer-token-4f1c9e";
        crate::secret::remember(token);
        let dir = tempfile::tempdir().unwrap();
        let jdir = dir.path().join("snap.journal");
        let j = Journal::create(&jdir, &header()).unwrap();
        let key = Key::new("GET", &format!("https://x/a?echo={token}"), None);
        j.record(&key, format!("{{\"echo\":\"{token}\"}}").as_bytes());
        drop(j);
        for entry in std::fs::read_dir(&jdir).unwrap() {
            let bytes = std::fs::read(entry.unwrap().path()).unwrap();
            assert!(
                !bytes.windows(token.len()).any(|w| w == token.as_bytes()),
                "the token is in the journal"
            );
        }
    }
}
