//! A sorted set of byte strings that does not live in memory: records are kept in memory up to
//! a budget, then each full run is sorted and written to a temporary file; reading merges the
//! runs (a k-way merge) into one sorted, de-duplicated sequence. The sweep uses it for the
//! table's references and the bucket's candidates, so its memory is bounded by the budget
//! (plus one record per run while merging), whatever the table and bucket size.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::PathBuf;

/// In-memory bytes per run before it is written out (the sweep's default).
pub(super) const RUN_BYTES: usize = 64 * 1024 * 1024;

/// A temporary run file, deleted when dropped.
struct Run(PathBuf);

impl Drop for Run {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Records collected in sorted runs (see the module docs).
pub(super) struct Spill {
    budget: usize,
    memory: Vec<Vec<u8>>,
    memory_bytes: usize,
    runs: Vec<Run>,
    /// Records pushed, duplicates included.
    pub(super) pushed: u64,
}

impl Spill {
    /// A spill keeping at most `budget` bytes of records in memory.
    pub(super) fn new(budget: usize) -> Self {
        Self {
            budget: budget.max(1),
            memory: Vec::new(),
            memory_bytes: 0,
            runs: Vec::new(),
            pushed: 0,
        }
    }

    /// Adds `record`; writes a sorted run out once the budget is reached.
    pub(super) fn push(&mut self, record: Vec<u8>) -> io::Result<()> {
        self.pushed += 1;
        // A record's own bytes plus its vector's header.
        self.memory_bytes += record.len() + std::mem::size_of::<Vec<u8>>();
        self.memory.push(record);
        if self.memory_bytes >= self.budget {
            self.write_run()?;
        }
        Ok(())
    }

    /// How many runs were written to disk (0: everything stayed in memory).
    #[cfg(test)]
    pub(super) fn runs(&self) -> usize {
        self.runs.len()
    }

    fn write_run(&mut self) -> io::Result<()> {
        self.memory.sort_unstable();
        self.memory.dedup();
        let path = std::env::temp_dir().join(format!(
            "dynox-sweep-{}-{:016x}",
            std::process::id(),
            fastrand::u64(..)
        ));
        let run = Run(path);
        let mut out = BufWriter::new(File::create(&run.0)?);
        for record in self.memory.drain(..) {
            let len = u32::try_from(record.len())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "record over 4 GiB"))?;
            out.write_all(&len.to_le_bytes())?;
            out.write_all(&record)?;
        }
        out.flush()?;
        self.runs.push(run);
        self.memory_bytes = 0;
        Ok(())
    }

    /// The records, sorted and de-duplicated.
    pub(super) fn into_sorted(mut self) -> io::Result<Sorted> {
        self.memory.sort_unstable();
        self.memory.dedup();
        let mut sources: Vec<Source> = Vec::with_capacity(self.runs.len() + 1);
        for run in &self.runs {
            sources.push(Source::File(BufReader::new(File::open(&run.0)?)));
        }
        sources.push(Source::Memory(std::mem::take(&mut self.memory).into_iter()));
        let mut heap = BinaryHeap::new();
        for (index, source) in sources.iter_mut().enumerate() {
            if let Some(record) = source.next()? {
                heap.push(Reverse((record, index)));
            }
        }
        Ok(Sorted {
            sources,
            heap,
            last: None,
            _runs: std::mem::take(&mut self.runs),
        })
    }
}

/// One sorted source of a merge.
enum Source {
    File(BufReader<File>),
    Memory(std::vec::IntoIter<Vec<u8>>),
}

impl Source {
    fn next(&mut self) -> io::Result<Option<Vec<u8>>> {
        match self {
            Source::Memory(records) => Ok(records.next()),
            Source::File(reader) => {
                let mut len = [0u8; 4];
                match reader.read_exact(&mut len) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
                    Err(e) => return Err(e),
                }
                let mut record = vec![0u8; u32::from_le_bytes(len) as usize];
                reader.read_exact(&mut record)?;
                Ok(Some(record))
            }
        }
    }
}

/// The merged records of a [`Spill`], in order, each once.
pub(super) struct Sorted {
    sources: Vec<Source>,
    heap: BinaryHeap<Reverse<(Vec<u8>, usize)>>,
    last: Option<Vec<u8>>,
    /// The run files, deleted when the merge is dropped.
    _runs: Vec<Run>,
}

impl Sorted {
    /// The next record, or `None` at the end.
    pub(super) fn next_record(&mut self) -> io::Result<Option<Vec<u8>>> {
        while let Some(Reverse((record, index))) = self.heap.pop() {
            if let Some(next) = self.sources[index].next()? {
                self.heap.push(Reverse((next, index)));
            }
            if self.last.as_ref() != Some(&record) {
                self.last = Some(record.clone());
                return Ok(Some(record));
            }
        }
        Ok(None)
    }

    /// Whether `record` is in the set, for records asked in ascending order (a merge join):
    /// skips everything smaller.
    pub(super) fn advance_to(&mut self, record: &[u8]) -> io::Result<bool> {
        loop {
            match self.last.as_deref() {
                Some(last) if last >= record => return Ok(last == record),
                _ => {}
            }
            if self.next_record()?.is_none() {
                return Ok(false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(mut sorted: Sorted) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(r) = sorted.next_record().unwrap() {
            out.push(r);
        }
        out
    }

    #[test]
    fn runs_spill_to_disk_and_merge_sorted_and_unique() {
        // A budget of a few records: many runs on disk.
        let mut spill = Spill::new(200);
        let mut expected = Vec::new();
        for i in (0..1_000u32).rev() {
            let record = format!("bucket\0key/{:05}", i % 700).into_bytes();
            expected.push(record.clone());
            spill.push(record).unwrap();
        }
        assert!(spill.runs() > 50, "{}", spill.runs());
        expected.sort();
        expected.dedup();
        let paths: Vec<PathBuf> = spill.runs.iter().map(|r| r.0.clone()).collect();
        let sorted = spill.into_sorted().unwrap();
        assert_eq!(collect(sorted), expected);
        // The run files are gone with the merge.
        assert!(paths.iter().all(|p| !p.exists()));
    }

    #[test]
    fn a_merge_join_finds_exactly_the_members() {
        let mut spill = Spill::new(64);
        for key in ["b", "d", "f", "h", "j"] {
            spill.push(key.as_bytes().to_vec()).unwrap();
        }
        let mut sorted = spill.into_sorted().unwrap();
        let asked: Vec<(&str, bool)> = ["a", "b", "c", "d", "d", "g", "h", "k"]
            .into_iter()
            .map(|k| (k, sorted.advance_to(k.as_bytes()).unwrap()))
            .collect();
        assert_eq!(
            asked,
            [
                ("a", false),
                ("b", true),
                ("c", false),
                ("d", true),
                ("d", true),
                ("g", false),
                ("h", true),
                ("k", false)
            ]
        );
    }

    #[test]
    fn records_with_any_bytes_round_trip() {
        let mut spill = Spill::new(1);
        let records = [
            b"a\nb".to_vec(),
            vec![0, 255, 10],
            Vec::new(),
            vec![0xff; 300],
        ];
        for r in &records {
            spill.push(r.clone()).unwrap();
        }
        let mut expected = records.to_vec();
        expected.sort();
        assert_eq!(collect(spill.into_sorted().unwrap()), expected);
    }
}
