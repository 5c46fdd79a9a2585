//! `dynox-bench`: the benchmarks that need servers (see BENCHMARKS.md; `scripts/bench` runs
//! them all).
//!
//! ```text
//! dynox-bench servers                      # start the embedded servers, print their endpoints
//! dynox-bench overhead    [--ops N]   [--rounds R]
//! dynox-bench large-files [--mib N]   [--rounds R]
//! dynox-bench many-files  [--items N] [--rounds R] [--concurrency C]
//! dynox-bench compression [--mib N]   [--rounds R]
//! dynox-bench sweep       [--objects N,M,...] [--budget-kib K]
//! dynox-bench stream      [--items N] [--rounds R]
//! dynox-bench parts       [--mib N]   [--rounds R] [--parts 8,16,32] [--concurrency 4,8,16]
//! dynox-bench collection  [--ops N]   [--rounds R]
//! dynox-bench partial     [--ops N]   [--rounds R]
//! ```
//!
//! Each prints a Markdown table. The servers come from `DYNOX_BENCH_DYNAMODB` and
//! `DYNOX_BENCH_S3` (or are started in-process when unset).

mod collection;
mod compression;
mod large_files;
mod many_files;
mod overhead;
mod partial;
mod stream;
mod sweep;

use std::collections::HashMap;

/// `--name value` options.
pub(crate) struct Args(HashMap<String, String>);

impl Args {
    pub(crate) fn get<T: std::str::FromStr>(&self, name: &str, default: T) -> Result<T, String> {
        match self.0.get(name) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|_| format!("bad value for --{name}: {v}")),
        }
    }
}

fn parse(args: &[String]) -> Result<Args, String> {
    let mut map = HashMap::new();
    let mut iter = args.iter();
    while let Some(name) = iter.next() {
        let Some(name) = name.strip_prefix("--") else {
            return Err(format!("unexpected argument {name}"));
        };
        let value = iter
            .next()
            .ok_or_else(|| format!("--{name} needs a value"))?;
        map.insert(name.to_owned(), value.clone());
    }
    Ok(Args(map))
}

pub(crate) type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), BoxError> {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = argv
        .split_first()
        .ok_or("usage: dynox-bench COMMAND [--option value]...")?;
    let args = parse(rest)?;
    match command.as_str() {
        "servers" => multi_thread()?.block_on(servers()),
        // One thread: the client's own cost, not hidden by parallelism.
        "overhead" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(overhead::run(&args)),
        "overhead-one" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(overhead::one(&args)),
        "partial" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(partial::run(&args)),
        "collection" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(collection::run(&args)),
        "collection-one" => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?
            .block_on(collection::one(&args)),
        "large-files" => multi_thread()?.block_on(large_files::run(&args)),
        "many-files" => multi_thread()?.block_on(many_files::run(&args)),
        "compression" => multi_thread()?.block_on(compression::run(&args)),
        "sweep" => multi_thread()?.block_on(sweep::run(&args)),
        "stream" => multi_thread()?.block_on(stream::run(&args)),
        "parts" => multi_thread()?.block_on(large_files::study(&args)),
        other => Err(format!("unknown command {other}").into()),
    }
}

fn multi_thread() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

/// Starts the embedded servers and prints their endpoints as shell assignments; runs until
/// killed or until standard input closes.
async fn servers() -> Result<(), BoxError> {
    let servers = dynox_local::LocalServers::start().await?;
    // The bucket the pydynox benchmark uses (pydynox does not create buckets).
    let s3 = dynox_local::local_s3_client(servers.sdk_config());
    s3.create_bucket().bucket("pydynox-bench").send().await?;
    println!("DYNOX_BENCH_DYNAMODB={}", servers.dynamodb_endpoint());
    println!("DYNOX_BENCH_S3={}", servers.s3_endpoint());
    println!("DYNOX_BENCH_SERVER_PID={}", std::process::id());
    use std::io::Write;
    std::io::stdout().flush()?;
    // Until standard input closes (the script that started us exits) or we are killed.
    tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await?;
    drop(servers);
    Ok(())
}

/// A dynox client with a table prefix unique to this run, whose field bucket `bench-files` is
/// a fresh bucket (also returned).
pub(crate) async fn client(
    servers: &dynox_bench::measure::Servers,
) -> Result<(dynox_core::Client, String), BoxError> {
    client_with(servers, |s| s).await
}

/// [`client`] with S3 settings changed by `settings`.
pub(crate) async fn client_with(
    servers: &dynox_bench::measure::Servers,
    settings: impl FnOnce(dynox_s3::S3Settings) -> dynox_s3::S3Settings,
) -> Result<(dynox_core::Client, String), BoxError> {
    let id = run_id();
    let bucket = format!("{id}-files");
    servers.s3.create_bucket().bucket(&bucket).send().await?;
    let client = dynox_core::Client::builder(&servers.config)
        .table_prefix(format!("{id}-"))
        .s3(settings(
            dynox_s3::S3Settings::default()
                .s3_client(servers.s3.clone())
                .bucket("bench-files", bucket.clone()),
        ))
        .build();
    Ok((client, bucket))
}

/// A bucket and table prefix unique to this run.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("b{}-{nanos:x}", std::process::id())
}
