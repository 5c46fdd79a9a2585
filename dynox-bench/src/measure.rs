//! Measuring helpers: statistics over repeated runs, process CPU time, resident memory, and
//! the servers the benchmarks talk to.

use std::time::Duration;

/// Median and spread of repeated measurements.
///
/// ```
/// use dynox_bench::measure::Stats;
///
/// let stats = Stats::of(&[3.0, 1.0, 2.0, 10.0]);
/// assert_eq!((stats.median, stats.min, stats.max), (2.5, 1.0, 10.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stats {
    /// The median.
    pub median: f64,
    /// The smallest value.
    pub min: f64,
    /// The largest value.
    pub max: f64,
}

impl Stats {
    /// The statistics of `samples` (all zero when there are none).
    pub fn of(samples: &[f64]) -> Self {
        if samples.is_empty() {
            return Stats {
                median: 0.0,
                min: 0.0,
                max: 0.0,
            };
        }
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let n = sorted.len();
        let median = if n % 2 == 1 {
            sorted[n / 2]
        } else {
            (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
        };
        Stats {
            median,
            min: sorted[0],
            max: sorted[n - 1],
        }
    }

    /// `median (min–max)` with `decimals` digits.
    pub fn show(&self, decimals: usize) -> String {
        format!(
            "{:.d$} ({:.d$}–{:.d$})",
            self.median,
            self.min,
            self.max,
            d = decimals
        )
    }
}

/// CPU time (user + system) this process has used so far, all threads included.
///
/// ```
/// let before = dynox_bench::measure::cpu_time();
/// let spin: u64 = (0..1_000_000u64).sum();
/// assert!(dynox_bench::measure::cpu_time() >= before, "{spin}");
/// ```
pub fn cpu_time() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a whole `rusage` into the pointer it is given.
    let usage = unsafe {
        if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
            return Duration::ZERO;
        }
        usage.assume_init()
    };
    let time = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU time (user + system) the servers' process has used so far, when `scripts/bench` runs
/// them in a process of their own and names it in `DYNOX_BENCH_SERVER_PID` (`None`
/// otherwise). Read from `/proc/<pid>/stat`, in clock ticks (10 ms).
pub fn server_cpu_time() -> Option<Duration> {
    let pid: u32 = std::env::var("DYNOX_BENCH_SERVER_PID").ok()?.parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name: state is the 3rd field, utime the 14th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    let per_second = u64::try_from(per_second).ok().filter(|t| *t > 0)?;
    Some(Duration::from_micros(ticks * 1_000_000 / per_second))
}

pub use dynox_local::memory::{peak_rss_mib, reset_peak_rss, rss_mib};

/// Where the benchmarks send their requests: the embedded servers, either in another process
/// (`DYNOX_BENCH_DYNAMODB` and `DYNOX_BENCH_S3`, as `scripts/bench` starts them with
/// `dynox-bench servers`) or, when those are unset, started in this process.
pub struct Servers {
    /// The configuration for DynamoDB clients.
    pub config: aws_config::SdkConfig,
    /// A path-style S3 client for the S3 server.
    pub s3: aws_sdk_s3::Client,
    /// Whether the servers run in this process (their memory and CPU then count as ours).
    pub in_process: bool,
    _local: Option<dynox_local::LocalServers>,
}

impl Servers {
    /// Connects to the servers named by the environment, or starts them here.
    pub async fn connect() -> Result<Self, Box<dyn std::error::Error>> {
        let (dynamodb, s3, local) = match (
            std::env::var("DYNOX_BENCH_DYNAMODB"),
            std::env::var("DYNOX_BENCH_S3"),
        ) {
            (Ok(d), Ok(s)) => (d, s, None),
            _ => {
                let local = dynox_local::LocalServers::start().await?;
                (local.dynamodb_endpoint(), local.s3_endpoint(), Some(local))
            }
        };
        let credentials = aws_sdk_dynamodb::config::Credentials::new(
            dynox_local::ACCESS_KEY_ID,
            dynox_local::SECRET_ACCESS_KEY,
            None,
            None,
            "dynox-bench",
        );
        let config_for = |endpoint: String| {
            aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .region(aws_config::Region::new(dynox_local::REGION))
                .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
                    credentials.clone(),
                ))
                .endpoint_url(endpoint)
                .build()
        };
        let config = config_for(dynamodb);
        let s3_config = config_for(s3);
        let s3 = dynox_local::local_s3_client(&s3_config);
        Ok(Servers {
            config,
            s3,
            in_process: local.is_some(),
            _local: local,
        })
    }
}

/// Sends `requests` to `table` with BatchWriteItem, 25 at a time, `concurrency` batches at
/// once, resending unprocessed items until none is left.
pub async fn batch_write(
    dynamodb: &aws_sdk_dynamodb::Client,
    table: &str,
    requests: Vec<aws_sdk_dynamodb::types::WriteRequest>,
    concurrency: usize,
) -> Result<(), aws_sdk_dynamodb::Error> {
    use futures::stream::{self, StreamExt, TryStreamExt};
    stream::iter(requests.chunks(25).map(<[_]>::to_vec))
        .map(|chunk| async move {
            let mut pending = chunk;
            while !pending.is_empty() {
                let out = dynamodb
                    .batch_write_item()
                    .request_items(table, pending)
                    .send()
                    .await?;
                pending = out
                    .unprocessed_items
                    .and_then(|mut u| u.remove(table))
                    .unwrap_or_default();
            }
            Ok::<(), aws_sdk_dynamodb::Error>(())
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
    Ok(())
}
