//! CPU time of the calling thread and of the process (what `--stats`
//! reports as the host's cost; see [`crate::Session::report`]).

use rustix::time::{clock_gettime, ClockId};

fn ns(t: rustix::time::Timespec) -> u64 {
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// CPU time (user + system) the calling thread has used, ns.
pub fn thread_cpu_ns() -> u64 {
    ns(clock_gettime(ClockId::ThreadCPUTime))
}

/// CPU time (user + system) every thread of the process has used, ns. On
/// a CPU device (lavapipe) this includes the device's work.
pub fn process_cpu_ns() -> u64 {
    ns(clock_gettime(ClockId::ProcessCPUTime))
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_grows_with_work() {
        let (t0, p0) = (super::thread_cpu_ns(), super::process_cpu_ns());
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let (t1, p1) = (super::thread_cpu_ns(), super::process_cpu_ns());
        assert!(t1 > t0 && p1 > p0);
        assert!(
            p1 - p0 >= t1 - t0 || p1 >= t1,
            "the process includes the thread"
        );
    }
}
