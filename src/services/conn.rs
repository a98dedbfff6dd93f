//! The socket shell shared by every protocol server: line framing, the accept loop and a
//! clock formatter.
//!
//! Contract: protocol modules keep their logic in a pure state machine and use this module only
//! to move bytes. [`LineReader`] yields one line at a time with its `\r\n` or `\n` removed and
//! never buffers more than [`MAX_LINE`] bytes of one line: a longer line is skipped up to its
//! end and reported as [`Line::TooLong`], so the protocol can answer it with its own error
//! reply and go on with the next line. [`accept_loop`] runs one task per connection, keeps
//! accepting when a single accept fails (for example when the process is out of file
//! descriptors) and, once the shutdown future completes, stops accepting and aborts the
//! connections still open.
//!
//! Invariants: nothing here panics on peer input; no state is shared between connections.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinSet;

/// The longest line a line-oriented server accepts, without its line ending.
pub const MAX_LINE: usize = 64 * 1024;

/// One framed line from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// A complete line without its `\r\n` or `\n`. The last line of a stream may lack a line
    /// ending: a peer that half-closes right after `QUIT` still gets its command executed.
    Text(Vec<u8>),
    /// A line longer than [`MAX_LINE`] bytes; its bytes were discarded.
    TooLong,
}

/// Splits a byte stream into lines, holding at most [`MAX_LINE`] bytes of one line.
#[derive(Debug)]
pub struct LineReader<R> {
    inner: R,
    buf: Vec<u8>,
    /// Bytes of `buf` already searched for a newline, so a long line is not rescanned.
    scanned: usize,
    /// The current line has overflowed; drop bytes until its end.
    discarding: bool,
    eof: bool,
}

impl<R: AsyncRead + Unpin> LineReader<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            buf: Vec::with_capacity(1024),
            scanned: 0,
            discarding: false,
            eof: false,
        }
    }

    /// The next line, or `None` once the peer has closed its sending side and every buffered
    /// line has been returned.
    pub async fn next_line(&mut self) -> io::Result<Option<Line>> {
        loop {
            if let Some(line) = self.take_buffered() {
                return Ok(Some(line));
            }
            if self.eof {
                return Ok(None);
            }
            let mut chunk = [0u8; 8192];
            let n = self.inner.read(&mut chunk).await?;
            if n == 0 {
                self.eof = true;
                continue;
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Takes one line out of the buffer if one is complete (or the stream has ended).
    fn take_buffered(&mut self) -> Option<Line> {
        if let Some(offset) = self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            let end = self.scanned + offset;
            let mut line: Vec<u8> = self.buf.drain(..=end).collect();
            self.scanned = 0;
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
            if std::mem::take(&mut self.discarding) || line.len() > MAX_LINE {
                return Some(Line::TooLong);
            }
            return Some(Line::Text(line));
        }
        // Keep room for the "\r" of a line of exactly MAX_LINE bytes.
        if self.buf.len() > MAX_LINE + 1 {
            self.buf.clear();
            self.discarding = true;
        }
        self.scanned = self.buf.len();
        if self.eof {
            self.scanned = 0;
            if std::mem::take(&mut self.discarding) {
                self.buf.clear();
                return Some(Line::TooLong);
            }
            if !self.buf.is_empty() {
                let mut line = std::mem::take(&mut self.buf);
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Some(Line::Text(line));
            }
        }
        None
    }

    /// Bytes received after the last line returned, not yet framed.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

/// Accepts connections until `shutdown` completes, running `handler` on its own task for each.
///
/// An accept error (the peer reset before accept, no file descriptors left) never stops the
/// server: the loop waits a moment and accepts again. On shutdown the connections still open
/// are aborted, so the listener and every connection socket are closed when this returns.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    shutdown: impl Future<Output = ()>,
    mut handler: F,
) where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // Replies go out as soon as they are written: with Nagle's algorithm a
                    // reply written while the previous one is unacknowledged (FTP's 226 after
                    // its 150) would wait for the client's delayed ACK, some 40 ms.
                    let _ = stream.set_nodelay(true);
                    // Counted until the connection's task ends, so a run can wait for it.
                    let guard = super::track_connection();
                    let served = handler(stream, peer);
                    tasks.spawn(async move {
                        let _guard = guard;
                        served.await
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            },
            // Reap finished connections so the set does not grow with every client served.
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
        }
    }
    tasks.shutdown().await;
}

/// The next datagram on `socket`, received into `buf`: its length and sender, or `None` once
/// `shutdown` completes.
///
/// A failed receive (an ICMP error the kernel reports on the socket) concerns one peer only
/// and is passed over: a server loops on this until it says `None`.
pub async fn next_datagram<F: Future<Output = ()>>(
    socket: &UdpSocket,
    buf: &mut [u8],
    mut shutdown: Pin<&mut F>,
) -> Option<(usize, SocketAddr)> {
    loop {
        tokio::select! {
            () = shutdown.as_mut() => return None,
            received = socket.recv_from(buf) => {
                if let Ok(datagram) = received {
                    return Some(datagram);
                }
            }
        }
    }
}

/// A UTC calendar time, enough for mbox `From ` lines and `ls -l` dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcTime {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday
    pub weekday: u32,
}

pub const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
pub const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

impl UtcTime {
    pub fn from_system(time: SystemTime) -> Self {
        let secs = match time.duration_since(UNIX_EPOCH) {
            Ok(d) => d.as_secs() as i64,
            Err(e) => -(e.duration().as_secs() as i64),
        };
        let days = secs.div_euclid(86_400);
        let rem = secs.rem_euclid(86_400);
        // Howard Hinnant's days-from-civil inverse.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Self {
            year,
            month,
            day,
            hour: (rem / 3600) as u32,
            minute: (rem % 3600 / 60) as u32,
            second: (rem % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }

    /// `Thu Jan  1 00:00:00 1970`, the C `asctime` layout used in mbox `From ` lines.
    pub fn asctime(&self) -> String {
        format!(
            "{} {} {:>2} {:02}:{:02}:{:02} {}",
            WEEKDAYS[self.weekday as usize % 7],
            MONTHS[(self.month as usize + 11) % 12],
            self.day,
            self.hour,
            self.minute,
            self.second,
            self.year
        )
    }

    /// `Jan  1  1970`, the `ls -l` layout for a file dated by year.
    pub fn ls_date(&self) -> String {
        format!(
            "{} {:>2}  {}",
            MONTHS[(self.month as usize + 11) % 12],
            self.day,
            self.year
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn lines_of(input: &[u8]) -> Vec<Line> {
        let mut reader = LineReader::new(input);
        let mut out = Vec::new();
        while let Some(line) = reader.next_line().await.unwrap() {
            out.push(line);
        }
        out
    }

    fn text(s: &str) -> Line {
        Line::Text(s.as_bytes().to_vec())
    }

    #[tokio::test]
    async fn crlf_and_bare_lf_both_end_a_line() {
        assert_eq!(
            lines_of(b"USER a\r\nPASS b\nQUIT").await,
            vec![text("USER a"), text("PASS b"), text("QUIT")]
        );
    }

    #[tokio::test]
    async fn empty_lines_are_lines() {
        assert_eq!(lines_of(b"\r\n\n").await, vec![text(""), text("")]);
    }

    #[tokio::test]
    async fn line_of_exactly_max_is_accepted() {
        let mut input = vec![b'a'; MAX_LINE];
        input.extend_from_slice(b"\r\nNEXT\r\n");
        let lines = lines_of(&input).await;
        assert_eq!(lines.len(), 2);
        assert!(matches!(&lines[0], Line::Text(t) if t.len() == MAX_LINE));
        assert_eq!(lines[1], text("NEXT"));
    }

    #[tokio::test]
    async fn overlong_line_is_reported_once_and_the_next_line_survives() {
        let mut input = vec![b'x'; 3 * MAX_LINE];
        input.extend_from_slice(b"\r\nNOOP\r\n");
        assert_eq!(lines_of(&input).await, vec![Line::TooLong, text("NOOP")]);
    }

    #[tokio::test]
    async fn overlong_unterminated_line_at_eof() {
        let input = vec![b'x'; 2 * MAX_LINE];
        assert_eq!(lines_of(&input).await, vec![Line::TooLong]);
    }

    #[test]
    fn utc_time_of_known_instants() {
        let epoch = UtcTime::from_system(UNIX_EPOCH);
        assert_eq!(epoch.asctime(), "Thu Jan  1 00:00:00 1970");
        let t = UtcTime::from_system(UNIX_EPOCH + Duration::from_secs(1_709_210_096));
        // 2024-02-29 12:34:56 UTC, a leap day.
        assert_eq!(t.asctime(), "Thu Feb 29 12:34:56 2024");
        assert_eq!(t.ls_date(), "Feb 29  2024");
    }
}
