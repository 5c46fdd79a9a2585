//! Benchmark 6: compressed file fields. One generated JSON-lines file of order records goes
//! up (`save` from a path) and down (`save_to`) through a field stored as it is, one
//! compressed with zstd and one with gzip: the ratio (stored / original), and MiB/s of the
//! original content each way, with the peak resident memory of each operation.

use std::path::Path;

use dynox_bench::measure::{Servers, Stats};
use dynox_core::DynamoModel;
use dynox_s3::S3Object;
use sha2::{Digest, Sha256};

use crate::large_files::{check, timed};
use crate::{Args, BoxError};

#[derive(Debug, DynamoModel)]
#[dynamo(table = "bench-compression")]
struct Export {
    #[dynamo(hash_key)]
    id: String,
    #[s3(bucket = "bench-files", prefix = "plain/")]
    plain: Option<S3Object>,
    #[s3(bucket = "bench-files", prefix = "zstd/", compress = "zstd")]
    zstd: Option<S3Object>,
    #[s3(bucket = "bench-files", prefix = "gzip/", compress = "gzip")]
    gzip: Option<S3Object>,
}

const CODECS: [&str; 3] = ["none", "zstd", "gzip"];

impl Export {
    fn with(id: String, codec: usize, file: S3Object) -> Self {
        let mut export = Export {
            id,
            plain: None,
            zstd: None,
            gzip: None,
        };
        *export.field(codec) = Some(file);
        export
    }

    fn field(&mut self, codec: usize) -> &mut Option<S3Object> {
        match codec {
            0 => &mut self.plain,
            1 => &mut self.zstd,
            _ => &mut self.gzip,
        }
    }
}

#[derive(Default)]
struct Samples {
    up: Vec<f64>,
    down: Vec<f64>,
    up_rss: Vec<f64>,
    down_rss: Vec<f64>,
    stored: u64,
}

pub(crate) async fn run(args: &Args) -> Result<(), BoxError> {
    let mib: u64 = args.get("mib", 64)?;
    let rounds: usize = args.get("rounds", 3)?;
    let dir: std::path::PathBuf = args.get("dir", std::env::temp_dir())?;
    let size = mib * 1024 * 1024;
    let servers = Servers::connect().await.map_err(|e| e.to_string())?;
    let (client, _bucket) = crate::client(&servers).await?;
    client.create_table::<Export>().await?;

    let work = tempfile::Builder::new()
        .prefix("dynox-bench-")
        .tempdir_in(&dir)?;
    let source = work.path().join("orders.jsonl");
    let expected = write_orders(&source, size)?;
    let download = work.path().join("download.jsonl");

    let mut samples: Vec<Samples> = CODECS.iter().map(|_| Samples::default()).collect();
    for round in 0..rounds {
        // Rotating order: no codec always runs first.
        for i in 0..CODECS.len() {
            let codec = (i + round) % CODECS.len();
            let id = format!("{}-{round}", CODECS[codec]);
            let mut item = Export::with(id.clone(), codec, S3Object::from_path(&source));
            let super::large_files::Measured { seconds, rss, .. } =
                timed(|| async { client.save(&mut item).await }).await?;
            samples[codec].up.push(mib as f64 / seconds);
            samples[codec].up_rss.push(rss);
            let loaded = Export::get(&client, &id).await?.ok_or("item missing")?;
            let mut loaded = loaded;
            let file = loaded.field(codec).take().ok_or("no file")?;
            let stored = file.stored().ok_or("not stored")?;
            samples[codec].stored = stored.stored_size.unwrap_or(stored.size);
            let super::large_files::Measured { seconds, rss, .. } =
                timed(|| file.save_to(&client, &download)).await?;
            samples[codec].down.push(mib as f64 / seconds);
            samples[codec].down_rss.push(rss);
            check(&download, &expected)?;
            std::fs::remove_file(&download)?;
            Export::delete(&client, &id).await?;
        }
    }

    println!(
        "| {mib} MiB of JSON order records | stored, MiB | ratio | up, MiB/s | down, MiB/s | peak RSS up, MiB | peak RSS down, MiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    for (name, s) in CODECS.iter().zip(&samples) {
        println!(
            "| {name} | {:.1} | {:.3} | {} | {} | {} | {} |",
            s.stored as f64 / (1024.0 * 1024.0),
            s.stored as f64 / size as f64,
            Stats::of(&s.up).show(0),
            Stats::of(&s.down).show(0),
            Stats::of(&s.up_rss).show(1),
            Stats::of(&s.down_rss).show(1),
        );
    }
    println!(
        "\n{rounds} rounds; MiB/s of the original content; default settings (8 MiB parts, 4 in flight; a compressed download is one streamed GET); servers {}.",
        if servers.in_process {
            "in this process (memory figures include them)"
        } else {
            "in another process"
        }
    );
    Ok(())
}

/// Writes `size` bytes of generated order records, one JSON object a line, to `path`;
/// returns their SHA-256. Ids count up, customers, products and amounts come from a
/// xorshift generator, so the file compresses like a real export (not like repeated text).
fn write_orders(path: &Path, size: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    const STATUSES: [&str; 4] = ["paid", "shipped", "delivered", "refunded"];
    const CURRENCIES: [&str; 3] = ["EUR", "USD", "GBP"];
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut hasher = Sha256::new();
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let mut written = 0u64;
    let mut line = String::new();
    let mut id = 1_000_000u64;
    while written < size {
        use std::fmt::Write as _;
        line.clear();
        let (a, b) = (next(), next());
        let _ = writeln!(
            line,
            r#"{{"order_id":{id},"customer":"C{:06}","created":"2026-{:02}-{:02}T{:02}:{:02}:{:02}Z","items":[{{"sku":"SKU-{:05}","qty":{},"price":{}.{:02}}}],"total":{}.{:02},"currency":"{}","status":"{}"}}"#,
            a % 200_000,
            a % 12 + 1,
            (a >> 8) % 28 + 1,
            (a >> 16) % 24,
            (a >> 24) % 60,
            (a >> 32) % 60,
            b % 30_000,
            b % 5 + 1,
            (b >> 8) % 500,
            (b >> 16) % 100,
            (b >> 24) % 2500,
            (b >> 32) % 100,
            CURRENCIES[((b >> 40) % 3) as usize],
            STATUSES[((b >> 48) % 4) as usize],
        );
        id += 1;
        let bytes = &line.as_bytes()[..line.len().min((size - written) as usize)];
        file.write_all(bytes)?;
        hasher.update(bytes);
        written += bytes.len() as u64;
    }
    file.flush()?;
    Ok(hasher.finalize().to_vec())
}
