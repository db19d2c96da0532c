//! Process resources on Linux: the file-descriptor limit, this process's CPU
//! time, and another process's CPU time and resident memory from `/proc`.

use std::time::Duration;

use anyhow::{Context, bail};

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and returns the new
/// soft limit. Child processes inherit it.
pub fn raise_fd_limit() -> anyhow::Result<u64> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `limit` is a valid, writable rlimit for the call to fill in.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        bail!("getrlimit(RLIMIT_NOFILE) failed: {}", std::io::Error::last_os_error());
    }
    if limit.rlim_cur < limit.rlim_max {
        limit.rlim_cur = limit.rlim_max;
        // SAFETY: `limit` is a valid rlimit with the soft limit at most the hard one.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            bail!("setrlimit(RLIMIT_NOFILE, {}) failed: {}", limit.rlim_max, std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

/// Returns the user plus system CPU time of this process (getrusage RUSAGE_SELF).
pub fn own_cpu_time() -> Duration {
    // SAFETY: an all-zero rusage is a valid value for getrusage to overwrite.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let to_duration = |time: libc::timeval| Duration::new(time.tv_sec as u64, time.tv_usec as u32 * 1000);
    to_duration(usage.ru_utime) + to_duration(usage.ru_stime)
}

/// Returns the user plus system CPU time of process `pid` from
/// `/proc/<pid>/stat` (fields 14 and 15, in clock ticks).
pub fn process_cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).with_context(|| format!("failed to read {path}"))?;
    // The command name in field 2 is in parentheses and may contain spaces,
    // so the fields are counted from after its closing parenthesis.
    let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).context("no ')' in /proc stat")?;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // After the name, field 3 (state) has index 0, so utime (14) has index 11.
    let ticks = |index: usize| -> anyhow::Result<u64> {
        fields.get(index).context("/proc stat is too short")?.parse().context("invalid /proc stat field")
    };
    let total_ticks = ticks(11)? + ticks(12)?;
    // SAFETY: sysconf has no preconditions.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as u64;
    Ok(Duration::from_nanos(total_ticks * 1_000_000_000 / ticks_per_second))
}

/// Returns the resident set size of process `pid` in KiB (`VmRSS` in
/// `/proc/<pid>/status`).
pub fn process_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).with_context(|| format!("failed to read {path}"))?;
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("no VmRSS line")?;
    line.split_whitespace().nth(1).context("empty VmRSS line")?.parse().context("invalid VmRSS value")
}

/// CPU time used by this process and, when its PID is known, by the server
/// between two readings.
#[derive(Clone, Copy, Debug)]
pub struct CpuReading {
    own: Duration,
    server: Option<Duration>,
}

impl CpuReading {
    /// Reads both CPU times now.
    pub fn now(server_pid: Option<u32>) -> Self {
        Self { own: own_cpu_time(), server: server_pid.and_then(|pid| process_cpu_time(pid).ok()) }
    }

    /// Returns the seconds of CPU time used since `earlier` by this process
    /// and by the server (None without a server PID).
    pub fn since(&self, earlier: &CpuReading) -> (f64, Option<f64>) {
        let own = self.own.saturating_sub(earlier.own).as_secs_f64();
        let server = match (self.server, earlier.server) {
            (Some(now), Some(before)) => Some(now.saturating_sub(before).as_secs_f64()),
            _ => None,
        };
        (own, server)
    }
}
