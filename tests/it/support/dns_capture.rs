//! A packet capture of DNS on every host interface (tcpdump as a child process), for the
//! tests that show which lookups leave a bottle and which never do.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// tcpdump on every host interface, DNS only, packet text printed.
pub struct DnsCapture(Child);

impl DnsCapture {
    /// Starts the capture and gives tcpdump time to open its interfaces: a lookup made
    /// right after must already be seen.
    pub fn start() -> DnsCapture {
        let child = Command::new("tcpdump")
            .args([
                "-i",
                "any",
                "-n",
                "-l",
                "-A",
                "-s",
                "0",
                "udp port 53 or tcp port 53",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("tcpdump (Debian's tcpdump package; .ci/run installs it)");
        std::thread::sleep(Duration::from_secs(2));
        DnsCapture(child)
    }

    /// Stops the capture, after a grace period for packets still on their way; returns
    /// what it printed.
    pub fn stop(self) -> String {
        std::thread::sleep(Duration::from_secs(2));
        // SAFETY: kill(2) on our own child.
        unsafe {
            libc::kill(self.0.id() as i32, libc::SIGTERM);
        }
        let out = self.0.wait_with_output().unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}
