//! Benchmark 3: one large file up and down through an S3 field, against raw aws-sdk-s3 with
//! the same part size and concurrency (upload) and one streamed GetObject (download), and
//! against AWS's S3 transfer manager (`aws-sdk-s3-transfer-manager` 0.3.1, a developer
//! preview) with the same part size and requests in flight, on the same S3 client.
//!
//! dynox's upload and download also run with a [`Progress`] attached whose callback does one
//! atomic store per MiB, so the cost of leaving progress reporting on shows next to them.
//!
//! Peak resident memory is measured per operation: the kernel's high-water mark is reset
//! before each one (`/proc/self/clear_refs`), and the table shows how far it rose above the
//! resident memory at the start.

use std::path::{Path, PathBuf};
use std::time::Instant;

use aws_sdk_s3::primitives::{ByteStream, Length};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use dynox_bench::measure::{cpu_time, peak_rss_mib, reset_peak_rss, rss_mib, Servers, Stats};
use dynox_core::DynamoModel;
use dynox_s3::{Progress, S3Object};
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
    /// Client CPU seconds (this process, all threads).
    cpu: Vec<f64>,
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
        "upload: transfer manager 0.3.1 (from_path)",
        "download: transfer manager 0.3.1 (write_to_path)",
        "upload: dynox save (from_path), with progress",
        "download: dynox save_to, with progress",
    ];
    // Printed with each dynox row followed by its run with progress.
    let order = [0, 1, 6, 2, 3, 7, 4, 5];
    let transfer_manager = transfer_manager(&servers.s3);
    let mut samples: Vec<Samples> = names.iter().map(|_| Samples::default()).collect();
    for round in 0..rounds {
        // 0: raw upload
        let key = format!("raw/{round}/source.bin");
        let s = timed(|| raw_upload(&servers.s3, &bucket, &key, &source, size)).await?;
        push(&mut samples[0], s);
        // 1, 6: dynox upload, without and with a progress whose callback stores `done` every
        // MiB; in alternating order, so neither always runs first.
        let seen = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let store = seen.clone();
        let progress = Progress::with_callback(1 << 20, move |t| {
            store.store(t.done, std::sync::atomic::Ordering::Relaxed)
        });
        let plain = (1, 3, format!("file-{round}"), None);
        let watched = (6, 7, format!("file-progress-{round}"), Some(&progress));
        let runs = if round % 2 == 0 {
            [&plain, &watched]
        } else {
            [&watched, &plain]
        };
        for &(sample, _, ref id, progress) in runs {
            let s = timed(|| async {
                let mut data = S3Object::from_path(&source);
                if let Some(progress) = progress {
                    data = data.with_progress(progress);
                }
                let mut item = LargeFile {
                    id: id.clone(),
                    data,
                };
                client.save(&mut item).await
            })
            .await?;
            push(&mut samples[sample], s);
            if let Some(progress) = progress {
                reported(progress, &seen, size)?;
            }
        }
        // 2: raw download
        let s = timed(|| raw_download(&servers.s3, &bucket, &key, &download)).await?;
        push(&mut samples[2], s);
        check(&download, &expected)?;
        std::fs::remove_file(&download)?;
        // 3, 7: dynox download (`save_to`), without and with the progress, in the same order.
        for &(_, sample, ref id, progress) in runs {
            let mut item = LargeFile::get(&client, id).await?.ok_or("item missing")?;
            item.data.set_progress(progress.cloned());
            let s = timed(|| item.data.save_to(&client, &download)).await?;
            push(&mut samples[sample], s);
            if let Some(progress) = progress {
                reported(progress, &seen, size)?;
            }
            check(&download, &expected)?;
            std::fs::remove_file(&download)?;
            LargeFile::delete(&client, id).await?;
        }
        // 4, 5: the transfer manager, up and down.
        let tm_key = format!("tm/{round}/source.bin");
        let s = timed(|| tm_upload(&transfer_manager, &bucket, &tm_key, &source)).await?;
        push(&mut samples[4], s);
        let s = timed(|| tm_download(&transfer_manager, &bucket, &tm_key, &download)).await?;
        push(&mut samples[5], s);
        check(&download, &expected)?;
        std::fs::remove_file(&download)?;
        servers
            .s3
            .delete_object()
            .bucket(&bucket)
            .key(&tm_key)
            .send()
            .await?;

        servers
            .s3
            .delete_object()
            .bucket(&bucket)
            .key(&key)
            .send()
            .await?;
    }

    println!("| {mib} MiB | MiB/s | peak RSS above start, MiB | client CPU s per GiB |");
    println!("|---|---|---|---|");
    for (name, s) in order.iter().map(|&i| (names[i], &samples[i])) {
        let speeds: Vec<f64> = s.seconds.iter().map(|t| mib as f64 / t).collect();
        let cpu: Vec<f64> = s.cpu.iter().map(|c| c * 1024.0 / mib as f64).collect();
        println!(
            "| {name} | {} | {} | {} |",
            Stats::of(&speeds).show(0),
            Stats::of(&s.rss).show(1),
            Stats::of(&cpu).show(2)
        );
    }
    let ratio = |a: usize, b: usize| {
        Stats::of(&samples[a].seconds).median / Stats::of(&samples[b].seconds).median
    };
    println!(
        "\nthroughput ratios (medians): upload dynox/raw {:.2}, download dynox/raw {:.2}; upload dynox/transfer manager {:.2}, download dynox/transfer manager {:.2}",
        ratio(0, 1),
        ratio(2, 3),
        ratio(4, 1),
        ratio(5, 3)
    );
    println!(
        "with progress / without (time, medians): upload {:.2}, download {:.2}",
        ratio(6, 1),
        ratio(7, 3)
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

/// Checks that a transfer with progress ended at `size`, and that its callback heard it.
fn reported(
    progress: &Progress,
    seen: &std::sync::atomic::AtomicU64,
    size: u64,
) -> Result<(), BoxError> {
    let heard = seen.load(std::sync::atomic::Ordering::Relaxed);
    if progress.done() != size || heard != size {
        return Err(format!(
            "progress ended at {} (callback: {heard}), not {size}",
            progress.done()
        )
        .into());
    }
    Ok(())
}

fn push(samples: &mut Samples, m: Measured) {
    samples.seconds.push(m.seconds);
    samples.rss.push(m.rss);
    samples.cpu.push(m.cpu);
}

/// What [`timed`] measured of one operation.
pub(crate) struct Measured {
    pub(crate) seconds: f64,
    /// How far peak RSS rose above RSS at the start, MiB.
    pub(crate) rss: f64,
    /// CPU seconds of this process.
    pub(crate) cpu: f64,
}

/// Runs `op`; returns its seconds, how far peak RSS rose above RSS at its start, and the CPU
/// it used.
pub(crate) async fn timed<F, Fut, T, E>(op: F) -> Result<Measured, BoxError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<T, E>>,
    E: Into<BoxError>,
{
    reset_peak_rss();
    let start_rss = rss_mib();
    let (started, cpu0) = (Instant::now(), cpu_time());
    op().await.map_err(Into::into)?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(Measured {
        seconds,
        rss: (peak_rss_mib() - start_rss).max(0.0),
        cpu: (cpu_time() - cpu0).as_secs_f64(),
    })
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

/// The part size and concurrency study: dynox upload (`save` from a file) and download
/// (`save_to`) of one `--mib` file with every combination of `--parts` MiB parts and
/// `--concurrency` parts in flight, `--rounds` rounds each. Prints MiB/s up and down and the
/// client CPU per GiB.
pub(crate) async fn study(args: &Args) -> Result<(), BoxError> {
    let mib: u64 = args.get("mib", 256)?;
    let rounds: usize = args.get("rounds", 2)?;
    let dir: PathBuf = args.get("dir", std::env::temp_dir())?;
    let list = |name: &str, default: &str| -> Result<Vec<u64>, BoxError> {
        let text: String = args.get(name, default.to_owned())?;
        text.split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .map_err(|_| format!("bad --{name}: {v}").into())
            })
            .collect()
    };
    let part_sizes = list("parts", "8,16,32")?;
    let concurrencies = list("concurrency", "4,8,16")?;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let work = tempfile::Builder::new()
        .prefix("dynox-bench-")
        .tempdir_in(&dir)?;
    let source = work.path().join("source.bin");
    let expected = write_source(&source, mib * 1024 * 1024)?;
    let download = work.path().join("download.bin");

    println!("| part MiB | in flight | up MiB/s | down MiB/s | up CPU s/GiB | down CPU s/GiB |");
    println!("|---|---|---|---|---|---|");
    for &part in &part_sizes {
        for &concurrency in &concurrencies {
            let (client, _bucket) = crate::client_with(&servers, |s| {
                s.part_size(part * 1024 * 1024)
                    .concurrency(concurrency as usize)
            })
            .await?;
            client.create_table::<LargeFile>().await?;
            let (mut up, mut down) = (Samples::default(), Samples::default());
            for round in 0..rounds {
                let id = format!("study-{part}-{concurrency}-{round}");
                let mut item = LargeFile {
                    id: id.clone(),
                    data: S3Object::from_path(&source),
                };
                push(
                    &mut up,
                    timed(|| async { client.save(&mut item).await }).await?,
                );
                push(
                    &mut down,
                    timed(|| item.data.save_to(&client, &download)).await?,
                );
                check(&download, &expected)?;
                std::fs::remove_file(&download)?;
                LargeFile::delete(&client, &id).await?;
            }
            let speed =
                |s: &Samples| -> Vec<f64> { s.seconds.iter().map(|t| mib as f64 / t).collect() };
            let cpu = |s: &Samples| -> Vec<f64> {
                s.cpu.iter().map(|c| c * 1024.0 / mib as f64).collect()
            };
            println!(
                "| {part} | {concurrency} | {} | {} | {} | {} |",
                Stats::of(&speed(&up)).show(0),
                Stats::of(&speed(&down)).show(0),
                Stats::of(&cpu(&up)).show(2),
                Stats::of(&cpu(&down)).show(2),
            );
        }
    }
    println!(
        "\n{mib} MiB file, {rounds} rounds per cell; servers {}.",
        if servers.in_process {
            "in this process"
        } else {
            "in another process"
        }
    );
    Ok(())
}

/// AWS's transfer manager on the benchmark's own S3 client (same HTTP stack), with the same
/// part size and requests in flight as dynox's defaults. Its checksum is its default (CRC64NVME
/// of each part, full-object type); its runtime mode its default (its own worker threads, whose
/// CPU this process's figures include).
fn transfer_manager(s3: &aws_sdk_s3::Client) -> aws_sdk_s3_transfer_manager::Client {
    use aws_sdk_s3_transfer_manager::types::{ConcurrencyMode, PartSize};
    aws_sdk_s3_transfer_manager::Client::new(
        aws_sdk_s3_transfer_manager::Config::builder()
            .client(s3.clone())
            // An explicit part size also keeps it from asking for `partNumber=1`, which s3s-fs
            // does not serve.
            .part_size(PartSize::Target(PART_SIZE))
            .multipart_threshold(PartSize::Target(10 * 1024 * 1024))
            .concurrency(ConcurrencyMode::Explicit(CONCURRENCY))
            .build(),
    )
}

async fn tm_upload(
    tm: &aws_sdk_s3_transfer_manager::Client,
    bucket: &str,
    key: &str,
    path: &Path,
) -> Result<(), BoxError> {
    let body = aws_sdk_s3_transfer_manager::io::InputStream::from_path(path)?;
    let handle = tm.upload().bucket(bucket).key(key).body(body).initiate()?;
    handle.join().await?;
    Ok(())
}

/// The transfer manager's own download to a file (positioned writes into a temporary file,
/// renamed into place when complete), then `sync_all`, as `save_to` does.
async fn tm_download(
    tm: &aws_sdk_s3_transfer_manager::Client,
    bucket: &str,
    key: &str,
    path: &Path,
) -> Result<(), BoxError> {
    let handle = tm
        .download()
        .bucket(bucket)
        .key(key)
        .write_to_path(path)
        .await?;
    handle.join().await?;
    std::fs::File::open(path)?.sync_all()?;
    Ok(())
}
