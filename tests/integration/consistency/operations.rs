//! The operations the promise is checked on, and the state each starts from.

use dynox_core::{Error, Tracked};
use dynox_s3::{S3Object, S3Value};
use dynox_tests::FileEnv;

use super::{notes, record, Record};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Op {
    SaveNew,
    SaveReplace,
    SaveKeep,
    /// Clear an optional file and keep it (the default).
    SaveRemove,
    /// Clear an optional file and delete it (`delete_cleared_files`).
    SaveRemoveDelete,
    /// Only the overflow value changes: short, so inline again (its object deleted after
    /// the write, with nothing uploaded and no file cleared).
    SaveInline,
    Delete,
    /// Replace a file of an item this client remembers in a state another writer has since
    /// changed: the write is refused, carries the stored item back and is planned again.
    SaveStale,
    /// Delete an item this client remembers in a state another writer has since changed.
    DeleteStale,
    /// Replace a file of an item read by another client, which holds a reference this
    /// client's memory does not know: the references are read before the write.
    SaveReloaded,
    /// Save a newly built item over one this client never read (the guess "no files" is
    /// wrong): refused, carried back, planned again; the stored item's objects are replaced.
    SaveGuessed,
    /// One transaction: replace a file of item `a`, delete item `b`, create item `c`.
    TransactWrite,
    /// An update that removes an optional file: the file is kept (marked before the
    /// UpdateItem, the mark undone if the update did not commit).
    UpdateRemove,
    /// An update that sets the overflow field to a short value: its object in S3 is no
    /// longer referenced once the update commits.
    UpdateOverflow,
    /// A partial save (`save_changes` of a tracked item): replace a file, the typed value
    /// and the overflow value, by an UpdateItem of only those attributes.
    PartialReplace,
    /// A partial save of a plain attribute only: no file moves.
    PartialKeep,
    /// A partial save that clears an optional file (kept, as in a full save).
    PartialRemove,
    /// A partial save of a file field (and the retained one) of an item whose other file
    /// and overflow value another writer replaced since this client read it: its condition
    /// covers only the fields it writes, so it commits and leaves the other writer's objects
    /// referenced.
    PartialOther,
    /// One transaction: a partial save of item `a` (a file and the overflow value replaced,
    /// an Update of only those) and the delete of item `b`.
    PartialTransaction,
}

pub(super) const OPS: [Op; 19] = [
    Op::SaveNew,
    Op::SaveReplace,
    Op::SaveKeep,
    Op::SaveRemove,
    Op::SaveRemoveDelete,
    Op::SaveInline,
    Op::Delete,
    Op::SaveStale,
    Op::DeleteStale,
    Op::SaveReloaded,
    Op::SaveGuessed,
    Op::TransactWrite,
    Op::UpdateRemove,
    Op::UpdateOverflow,
    Op::PartialReplace,
    Op::PartialKeep,
    Op::PartialRemove,
    Op::PartialOther,
    Op::PartialTransaction,
];

/// The items an operation on `pk` touches.
pub(super) fn items(op: Op, pk: &str) -> Vec<String> {
    match op {
        Op::TransactWrite | Op::PartialTransaction => {
            vec![format!("{pk}a"), format!("{pk}b"), format!("{pk}c")]
        }
        _ => vec![pk.to_owned()],
    }
}

/// Puts item `pk` in the state `op` starts from (no faults armed).
pub(super) async fn prepare(env: &FileEnv, op: Op, pk: &str) -> Option<Record> {
    if op == Op::SaveNew {
        return None;
    }
    if matches!(op, Op::TransactWrite | Op::PartialTransaction) {
        let mut a = record(&format!("{pk}a"), 1);
        let mut b = record(&format!("{pk}b"), 2);
        env.client.save(&mut b).await.expect("setup save");
        env.client.save(&mut a).await.expect("setup save");
        return Some(a);
    }
    if op == Op::SaveGuessed {
        env.other
            .save(&mut record(pk, 1))
            .await
            .expect("setup save");
        return None;
    }
    let mut r = record(pk, 1);
    env.client.save(&mut r).await.expect("setup save");
    if matches!(
        op,
        Op::SaveStale | Op::DeleteStale | Op::SaveReloaded | Op::PartialOther
    ) {
        // Another writer replaces a file and the overflow value (and, for `SaveReloaded`,
        // the typed value); this client still remembers the state it wrote.
        let mut changed = Record::get(&env.other, pk)
            .consistent_read(true)
            .await
            .expect("setup read")
            .expect("setup item");
        changed.content = Some(S3Object::from_bytes(vec![5; 3500], "other.bin"));
        changed.notes = notes(5);
        if op == Op::SaveReloaded {
            changed.summary = Some(S3Value::new(vec![5; 40]));
        }
        env.other.save(&mut changed).await.expect("setup save");
        if op == Op::SaveReloaded {
            // The caller's item is the changed one, read by another client.
            return Some(changed);
        }
    }
    Some(r)
}

/// Runs `op` on item `pk`.
pub(super) async fn run(
    env: &FileEnv,
    op: Op,
    pk: &str,
    existing: Option<Record>,
) -> Result<(), Error> {
    match op {
        Op::SaveNew => env.client.save(&mut record(pk, 7)).await,
        Op::SaveReplace => {
            let mut r = existing.expect("existing item");
            r.content = Some(S3Object::from_bytes(vec![9; 4000], "replacement.bin"));
            r.blob = Some(S3Object::from_bytes(vec![9; 600], "blob.bin"));
            r.summary = Some(S3Value::new(vec![9; 60]));
            r.notes = notes(9);
            env.client.save(&mut r).await
        }
        Op::SaveKeep => {
            let mut r = existing.expect("existing item");
            r.name = "renamed".into();
            env.client.save(&mut r).await
        }
        Op::SaveRemove => {
            let mut r = existing.expect("existing item");
            r.content = None;
            env.client.save(&mut r).await
        }
        Op::SaveRemoveDelete => {
            let mut r = existing.expect("existing item");
            r.content = None;
            env.client.save(&mut r).delete_cleared_files().await
        }
        Op::SaveInline => {
            let mut r = existing.expect("existing item");
            r.notes = "short".into();
            env.client.save(&mut r).await
        }
        Op::Delete | Op::DeleteStale => Record::delete(&env.client, pk).await,
        Op::SaveStale | Op::SaveReloaded => {
            let mut r = existing.expect("existing item");
            r.content = Some(S3Object::from_bytes(vec![9; 4000], "replacement.bin"));
            env.client.save(&mut r).await
        }
        Op::SaveGuessed => env.client.save(&mut record(pk, 7)).await,
        Op::UpdateRemove => Record::update(&env.client, pk)
            .apply(Record::fields().content.remove())
            .await
            .map(drop),
        Op::UpdateOverflow => Record::update(&env.client, pk)
            .apply(Record::fields().notes.set("short".to_owned()))
            .await
            .map(drop),
        Op::PartialReplace => {
            let mut r = Tracked::new(existing.expect("existing item"));
            r.content = Some(S3Object::from_bytes(vec![9; 4000], "replacement.bin"));
            r.summary = Some(S3Value::new(vec![9; 60]));
            r.notes = notes(9);
            env.client.save_changes(&mut r).await
        }
        Op::PartialKeep => {
            let mut r = Tracked::new(existing.expect("existing item"));
            r.name = "renamed".into();
            env.client.save_changes(&mut r).await
        }
        Op::PartialRemove => {
            let mut r = Tracked::new(existing.expect("existing item"));
            r.content = None;
            env.client.save_changes(&mut r).await
        }
        Op::PartialOther => {
            let mut r = Tracked::new(existing.expect("existing item"));
            r.summary = Some(S3Value::new(vec![9; 60]));
            r.thumb = S3Object::from_bytes(vec![9; 100], "thumb.png");
            env.client.save_changes(&mut r).await
        }
        Op::PartialTransaction => {
            let mut a = Tracked::new(existing.expect("existing item"));
            a.content = Some(S3Object::from_bytes(vec![8; 2000], "replacement.bin"));
            a.notes = notes(8);
            env.client
                .transact_write()
                .save_changes(&mut a)
                .delete(Record::key_of(format!("{pk}b")))
                .await
        }
        Op::TransactWrite => {
            let mut a = existing.expect("existing item");
            a.content = Some(S3Object::from_bytes(vec![8; 2000], "replacement.bin"));
            a.blob = Some(S3Object::from_bytes(vec![8; 600], "blob.bin"));
            a.notes = notes(8);
            let mut c = record(&format!("{pk}c"), 4);
            env.client
                .transact_write()
                .save(&mut a)
                .delete(Record::key_of(format!("{pk}b")))
                .create(&mut c)
                .await
        }
    }
}
