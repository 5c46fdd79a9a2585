//! A large file through an S3 field, streamed both ways, with peak memory measured.
//!
//! ```text
//! cargo run --release -p dynox-examples --bin large_file            # 1 GiB
//! cargo run --release -p dynox-examples --bin large_file -- 64      # 64 MiB
//! ```
//!
//! The content is generated while it is read (nothing is held in memory), uploaded with
//! default settings (multipart, 8 MiB parts, 4 in flight), then downloaded to a file with
//! `save_to` and read back with `stream`. Both are checked byte for byte against an
//! independent SHA-256 of the generated content. Peak resident memory (`VmHWM`) is printed
//! before and after: the embedded servers run in this process too, so the figure includes
//! them.
//!
//! On a terminal, a progress bar ([`indicatif`]) follows each transfer through a
//! [`dynox::s3::Progress`] attached to the file (`with_progress` before the upload,
//! `set_progress` on the loaded file for the downloads), told every MiB. Otherwise (output
//! to a file or a pipe) only the summary lines are printed.

use std::io::IsTerminal;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use dynox::s3::{Progress, S3Object, S3Settings};
use dynox::{Client, DynamoModel};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, ReadBuf};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "large-files")]
struct LargeFile {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "large-files")]
    data: S3Object,
}

/// Deterministic pseudo-random bytes (xorshift), generated as they are read.
struct Generated {
    state: u64,
    left: u64,
}

impl Generated {
    fn new(size: u64) -> Self {
        Self {
            state: 0x9E37_79B9_7F4A_7C15,
            left: size,
        }
    }
}

impl AsyncRead for Generated {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let n = (buf.remaining() as u64).min(self.left) as usize / 8 * 8;
        let n = if n == 0 {
            (buf.remaining() as u64).min(self.left) as usize
        } else {
            n
        };
        let mut chunk = vec![0u8; n];
        for word in chunk.chunks_mut(8) {
            let mut x = self.state;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.state = x;
            word.copy_from_slice(&x.to_le_bytes()[..word.len()]);
        }
        self.left -= n as u64;
        buf.put_slice(&chunk);
        Poll::Ready(Ok(()))
    }
}

/// A bar of `size` bytes on stdout and the [`Progress`] that moves it (told every MiB and at the end), or
/// neither when stdout is not a terminal.
fn progress_bar(size: u64) -> Option<(ProgressBar, Progress)> {
    if !std::io::stdout().is_terminal() {
        return None;
    }
    let bar = ProgressBar::with_draw_target(Some(size), ProgressDrawTarget::stdout());
    bar.set_style(
        ProgressStyle::with_template(
            "{msg:8} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let moved = bar.clone();
    let progress = Progress::with_callback(1 << 20, move |t| {
        if let Some(total) = t.total {
            moved.set_length(total);
        }
        moved.set_position(t.done);
    });
    Some((bar, progress))
}

/// Readies the bar for the next transfer, called `name`.
fn next_phase(bar: &Option<(ProgressBar, Progress)>, name: &'static str) {
    if let Some((bar, _)) = bar {
        bar.reset();
        bar.set_message(name);
    }
}

/// Clears the bar before a summary line is printed.
fn end_phase(bar: &Option<(ProgressBar, Progress)>) {
    if let Some((bar, _)) = bar {
        bar.finish_and_clear();
    }
}

async fn expected_sha256(size: u64) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut reader = Generated::new(size);
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(hasher.finalize().to_vec());
        }
        hasher.update(&buf[..n]);
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mib: u64 = std::env::args().nth(1).map_or(Ok(1024), |a| a.parse())?;
    let size = mib * 1024 * 1024;
    let backend = dynox::testing::Backend::from_env().await?;
    let bucket = format!("dynox-large-{}", std::process::id());
    let s3 = backend.s3_client();
    s3.create_bucket().bucket(&bucket).send().await?;
    let client = Client::builder(backend.sdk_config())
        .table_prefix(format!("large-{}-", std::process::id()))
        .s3(S3Settings::default().bucket("large-files", bucket.clone()))
        .build();
    client.create_table::<LargeFile>().await?;

    let expected = expected_sha256(size).await?;
    let baseline = dynox::testing::memory::peak_rss_mib();
    println!(
        "{mib} MiB on {} servers; peak RSS before: {baseline:.1} MiB",
        backend.name()
    );

    let bar = progress_bar(size);
    let mut data = S3Object::from_reader(Generated::new(size), "big.bin", Some(size));
    if let Some((_, progress)) = &bar {
        data = data.with_progress(progress);
    }
    next_phase(&bar, "upload");
    let started = Instant::now();
    let mut file = LargeFile {
        id: "big".into(),
        data,
    };
    client.save(&mut file).await?;
    let upload = started.elapsed();
    end_phase(&bar);
    println!(
        "upload:   {:>7.1} MiB/s ({upload:.2?}), peak RSS {:.1} MiB",
        mib as f64 / upload.as_secs_f64(),
        dynox::testing::memory::peak_rss_mib()
    );

    let mut loaded = LargeFile::get(&client, "big")
        .await?
        .ok_or("item missing")?;
    // A file read from the item reports its downloads once it has a progress.
    loaded
        .data
        .set_progress(bar.as_ref().map(|(_, progress)| progress.clone()));
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("big.bin");
    next_phase(&bar, "save_to");
    let started = Instant::now();
    loaded.data.save_to(&client, &path).await?;
    let download = started.elapsed();
    end_phase(&bar);
    println!(
        "save_to:  {:>7.1} MiB/s ({download:.2?}), peak RSS {:.1} MiB",
        mib as f64 / download.as_secs_f64(),
        dynox::testing::memory::peak_rss_mib()
    );
    let on_disk = {
        let mut hasher = Sha256::new();
        let mut f = std::fs::File::open(&path)?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = std::io::Read::read(&mut f, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        hasher.finalize().to_vec()
    };
    std::fs::remove_file(&path)?;

    next_phase(&bar, "stream");
    let started = Instant::now();
    let mut stream = loaded.data.stream(&client)?;
    let mut hasher = Sha256::new();
    while let Some(chunk) = stream.next().await {
        hasher.update(&chunk?);
    }
    let streamed = hasher.finalize().to_vec();
    end_phase(&bar);
    println!(
        "stream:   {:>7.1} MiB/s ({:.2?}), peak RSS {:.1} MiB",
        mib as f64 / started.elapsed().as_secs_f64(),
        started.elapsed(),
        dynox::testing::memory::peak_rss_mib()
    );

    LargeFile::delete(&client, "big").await?;
    client.delete_table::<LargeFile>().await?;
    s3.delete_bucket().bucket(&bucket).send().await?;

    let exact = on_disk == expected && streamed == expected;
    println!(
        "byte-exact: {exact}; peak RSS growth over the run: {:.1} MiB",
        dynox::testing::memory::peak_rss_mib() - baseline
    );
    if !exact {
        return Err("downloaded content differs from what was uploaded".into());
    }
    Ok(())
}
