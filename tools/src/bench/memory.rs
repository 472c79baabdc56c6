//! What the reducer's state costs in resident memory: agents logged in and
//! call threads open, fed through the real decoder and reducer, measured by
//! the kernel (`VmRSS`, `VmHWM` in `/proc/self/status`).
//!
//! Run it in a process of its own (`ctistream bench --memory`): the peak
//! resident size is the whole process's, and a process that generated a
//! workload before holds that memory too.

use std::fmt;
use std::time::{Duration, Instant};

use ctistream_core::state::{NoOutputs, Reducer};
use ctistream_core::{Decoder, Format, Timestamp};

/// What [`measure`] found.
#[derive(Clone, Debug)]
pub struct MemoryReport {
    /// Agents logged in and ready.
    pub agents: usize,
    /// Call threads open (ringing, then answered: one connected party each).
    pub calls: usize,
    /// Resident bytes added per agent.
    pub bytes_per_agent: f64,
    /// Resident bytes added per open call thread.
    pub bytes_per_call: f64,
    /// Resident size before any state (the program, its libraries, buffers).
    pub baseline_rss: u64,
    /// Peak resident size of the process.
    pub peak_rss: u64,
    /// How long feeding the state took.
    pub elapsed: Duration,
}

/// Feeds `agents` logins and `calls` answered calls into one reducer and
/// reads the resident size as it grows.
///
/// # Errors
/// When `/proc/self/status` cannot be read (not Linux).
pub fn measure(agents: usize, calls: usize) -> std::io::Result<MemoryReport> {
    let started = Instant::now();
    let decoder = Decoder::new(Format::Genesys);
    let mut reducer = Reducer::default();
    let mut record = String::with_capacity(512);
    let feed = |reducer: &mut Reducer, record: &str| {
        // The records are made here and valid; a failure would be a bug.
        if let Ok(event) = decoder.decode(record.as_bytes(), None) {
            reducer.apply(&event, Timestamp(0), &mut NoOutputs);
        }
    };
    let baseline = resident("VmRSS")?;
    for agent in 0..agents {
        for event in ["EventAgentLogin", "EventAgentReady"] {
            record.clear();
            record.push_str(&format!(
                r#"{{"id":"{event}","ThisDN":"{}","AgentID":"agent{agent:06}","ThisQueue":"Sales","CustomerID":"t1","time":"2026-11-20T09:00:00Z"}}"#,
                100_000 + agent
            ));
            feed(&mut reducer, &record);
        }
    }
    let with_agents = resident("VmRSS")?;
    for call in 0..calls {
        let dn = 100_000 + call % agents.max(1);
        for event in ["EventRinging", "EventEstablished"] {
            record.clear();
            record.push_str(&format!(
                r#"{{"id":"{event}","CallThreadID":"ct-{call:07}","ConnID":"006c0246{call:08x}","CallUUID":"05B9PTFV4D1EJ{call:07}","ThisDN":"{dn}","ThisQueue":"Sales","OtherDN":"+14155550123","CallType":"Inbound","ANI":"+14155550123","DNIS":"8005550100","CustomerID":"t1","time":"2026-11-20T09:00:01Z"}}"#
            ));
            feed(&mut reducer, &record);
        }
    }
    let with_calls = resident("VmRSS")?;
    let open = reducer.calls().open();
    if open != calls {
        return Err(std::io::Error::other(format!("{open} call threads open of {calls} fed")));
    }
    let per = |bytes: u64, count: usize| bytes as f64 / count.max(1) as f64;
    Ok(MemoryReport {
        agents,
        calls,
        bytes_per_agent: per(with_agents.saturating_sub(baseline), agents),
        bytes_per_call: per(with_calls.saturating_sub(with_agents), calls),
        baseline_rss: baseline,
        peak_rss: resident("VmHWM")?,
        elapsed: started.elapsed(),
    })
}

/// A size line of `/proc/self/status` (`VmRSS:  1234 kB`), in bytes.
fn resident(field: &str) -> std::io::Result<u64> {
    let status = std::fs::read_to_string("/proc/self/status")?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|value| value.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        .map(|kib| kib * 1024)
        .ok_or_else(|| std::io::Error::other(format!("no {field} in /proc/self/status")))
}

impl fmt::Display for MemoryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
        writeln!(
            f,
            "memory: {} agents logged in, {} call threads open ({:.1} s to build)",
            self.agents,
            self.calls,
            self.elapsed.as_secs_f64()
        )?;
        writeln!(f, "resident_bytes_per_agent={:.0}", self.bytes_per_agent)?;
        writeln!(f, "resident_bytes_per_open_call={:.0}", self.bytes_per_call)?;
        writeln!(f, "baseline_rss_mib={:.1}", mib(self.baseline_rss))?;
        writeln!(f, "peak_rss_mib={:.1}", mib(self.peak_rss))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_grows_the_resident_size_by_what_it_holds() {
        let report = measure(2_000, 20_000).unwrap();
        assert_eq!((report.agents, report.calls), (2_000, 20_000));
        // Pages are counted, not bytes: small states are coarse, but open
        // calls cost something and not megabytes each.
        assert!(report.bytes_per_call > 0.0 && report.bytes_per_call < 100_000.0, "{report}");
        assert!(report.peak_rss >= report.baseline_rss, "{report}");
        assert!(report.to_string().contains("peak_rss_mib="));
    }
}
