//! Benchmark 3: one large file up and down through an S3 field, against raw aws-sdk-s3 with
//! the same part size and concurrency (upload) and one streamed GetObject (download).
//!
//! Peak resident memory is measured per operation: the kernel's high-water mark is reset
//! before each one (`/proc/self/clear_refs`), and the table shows how far it rose above the
//! resident memory at the start.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use dynox_bench::measure::{peak_rss_mib, reset_peak_rss, rss_mib, Servers, Stats};
use dynox_core::DynamoModel;
use dynox_s3::S3Object;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::{Args, BoxError};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-large")]
struct LargeFile {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "bench-files", prefix = "large/")]
    data: S3Object,
}

/// The defaults of `S3Settings`, used by the raw SDK code too.
const PART_SIZE: u64 = 8 * 1024 * 1024;
const CONCURRENCY: usize = 4;

#[derive(Default)]
struct Samples {
    seconds: Vec<f64>,
    rss: Vec<f64>,
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let mib: u64 = args.get("mib", 1024)?;
    let rounds: usize = args.get("rounds", 3)?;
    let dir: PathBuf = args.get("dir", std::env::temp_dir())?;
    let size = mib * 1024 * 1024;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (client, bucket) = crate::client(&servers).await?;
    client.create_table::<LargeFile>().await?;

    let work = tempfile::Builder::new()
        .prefix("dynox-bench-")
        .tempdir_in(&dir)?;
    let source = work.path().join("source.bin");
    let expected = write_source(&source, size)?;
    let download = work.path().join("download.bin");

    let names = [
        "upload: raw aws-sdk-s3 multipart",
        "upload: dynox save (from_path)",
        "download: raw GetObject to file",
        "download: dynox save_to",
    ];
    let mut samples: Vec<Samples> = names.iter().map(|_| Samples::default()).collect();
    for round in 0..rounds {
        // 0: raw upload
        let key = format!("raw/{round}/source.bin");
        let s = timed(|| raw_upload(&servers.s3, &bucket, &key, &source, size)).await?;
        push(&mut samples[0], s);
        // 1: dynox upload
        let item_id = format!("file-{round}");
        let s = timed(|| async {
            let mut item = LargeFile {
                id: item_id.clone(),
                data: S3Object::from_path(&source),
            };
            client.save(&mut item).await
        })
        .await?;
        push(&mut samples[1], s);
        // 2: raw download
        let s = timed(|| raw_download(&servers.s3, &bucket, &key, &download)).await?;
        push(&mut samples[2], s);
        check(&download, &expected)?;
        std::fs::remove_file(&download)?;
        // 3: dynox download
        let item = LargeFile::get(&client, &item_id)
            .await?
            .ok_or("item missing")?;
        let s = timed(|| item.data.save_to(&client, &download)).await?;
        push(&mut samples[3], s);
        check(&download, &expected)?;
        std::fs::remove_file(&download)?;

        servers
            .s3
            .delete_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await?;
        LargeFile::delete(&client, &item_id).await?;
    }

    println!("| {mib} MiB | MiB/s | peak RSS above start, MiB |");
    println!("|---|---|---|");
    for (name, s) in names.iter().zip(&samples) {
        let speeds: Vec<f64> = s.seconds.iter().map(|t| mib as f64 / t).collect();
        println!(
            "| {name} | {} | {} |",
            Stats::of(&speeds).show(0),
            Stats::of(&s.rss).show(1)
        );
    }
    let ratio = |a: usize, b: usize| {
        Stats::of(&samples[a].seconds).median / Stats::of(&samples[b].seconds).median
    };
    println!(
        "\nthroughput ratios (medians): upload dynox/raw {:.2}, download dynox/raw {:.2}",
        ratio(0, 1),
        ratio(2, 3)
    );
    println!(
        "{rounds} rounds; part size 8 MiB, {CONCURRENCY} in flight (the defaults); servers {}.",
        if servers.in_process {
            "in this process (memory figures include them)"
        } else {
            "in another process"
        }
    );
    Ok(())
}

fn push(samples: &mut Samples, (seconds, rss): (f64, f64)) {
    samples.seconds.push(seconds);
    samples.rss.push(rss);
}

/// Runs `op`; returns its seconds and how far peak RSS rose above RSS at its start.
pub(crate) async fn timed<F, Fut, T, E>(op: F) -> Result<(f64, f64), BoxError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    reset_peak_rss();
    let start_rss = rss_mib();
    let started = Instant::now();
    op().await.map_err(Into::into)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok((seconds, (peak_rss_mib() - start_rss).max(0.0)))
}

/// Writes `size` pseudo-random bytes (xorshift) to `path`; returns their SHA-256.
fn write_source(path: &Path, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1 << 20];
    let mut left = size;
    while left > 0 {
        for word in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        let n = left.min(chunk.len() as u64) as usize;
        file.write_all(&chunk[..n])?;
        hasher.update(&chunk[..n]);
        left -= n as u64;
    }
    file.flush()?;
    Ok(hasher.finalize().to_vec())
}

pub(crate) fn check(path: &Path, expected: &[u8]) -> Result<(), BoxError> {
    let mut hasher = Sha256::new();
    let mut file = std::fs::File::open(path)?;
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut file, &mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    if hasher.finalize().as_slice() != expected {
        return Err(format!("{} differs from the source", path.display()).into());
    }
    Ok(())
}

/// Multipart upload by hand: parts read from disk, `CONCURRENCY` at once, the SDK's default
/// checksum.
async fn raw_upload(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    size: u64,
) -> Result<(), BoxError> {
    let created = s3
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await?;
    let upload_id = created.upload_id().ok_or("no upload id")?.to_owned();
    let mut tasks = tokio::task::JoinSet::new();
    let mut parts = Vec::new();
    let mut offset = 0;
    let mut number = 0;
    while offset < size {
        number += 1;
        let len = PART_SIZE.min(size - offset);
        let body = ByteStream::read_from()
            .path(path)
            .offset(offset)
            .length(Length::Exact(len))
            .build()
            .await?;
        let request = s3
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(&upload_id)
            .part_number(number)
            .body(body);
        tasks.spawn(async move {
            let out = request.send().await?;
            Ok::<_, BoxError>(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(out.e_tag)
                    .set_checksum_crc32(out.checksum_crc32)
                    .build(),
            )
        });
        offset += len;
        if tasks.len() >= CONCURRENCY {
            if let Some(done) = tasks.join_next().await {
                parts.push(done??);
            }
        }
    }
    while let Some(done) = tasks.join_next().await {
        parts.push(done??);
    }
    parts.sort_by_key(|p| p.part_number);
    s3.complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await?;
    Ok(())
}

/// One GetObject streamed to a file, synced to disk like `save_to` does.
async fn raw_download(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
) -> Result<(), BoxError> {
    let mut body = s3.get_object().bucket(bucket).key(key).send().await?.body;
    let mut file = tokio::fs::File::create(path).await?;
    while let Some(chunk) = body.next().await {
        file.write_all(&chunk?).await?;
    }
    file.sync_all().await?;
    Ok(())
}
