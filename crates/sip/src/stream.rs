//! Messages on a byte stream (TCP, TLS): where one ends and the next begins.
//!
//! On a stream the only delimiter is the message itself: the header block ends with an empty line, and the body is
//! exactly `Content-Length` bytes, which is therefore mandatory (RFC 3261 §18.3). CRLFs between messages are
//! ignored (§7.5), except as keepalives (RFC 5626 §3.5.1): a double CRLF is a ping to answer with a single CRLF,
//! the pong. A stream that breaks these rules cannot be resynchronised, so a framing error means the connection
//! must be closed.

use crate::msg::Limits;

/// What the stream delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed {
    /// One whole message, to hand to the user agent as a datagram would be.
    Message(Vec<u8>),
    /// A keepalive ping (`CRLF CRLF`): answer with [`PONG`].
    Ping,
    /// A keepalive pong (a lone `CRLF`): the peer is alive.
    Pong,
}

/// The keepalive ping.
pub const PING: &[u8] = b"\r\n\r\n";
/// The answer to a ping.
pub const PONG: &[u8] = b"\r\n";

/// Why the stream cannot be read on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    #[error("a message on the stream has no Content-Length (RFC 3261 §18.3 requires it)")]
    NoContentLength,
    #[error("a message on the stream has an unreadable Content-Length")]
    BadContentLength,
    #[error("a message on the stream is larger than {limit} bytes")]
    TooLarge { limit: usize },
}

/// Splits a byte stream into messages.
#[derive(Debug)]
pub struct StreamFramer {
    buffer: Vec<u8>,
    limit: usize,
}

impl StreamFramer {
    /// A framer that refuses messages larger than `limits` allow.
    pub fn new(limits: &Limits) -> Self {
        Self {
            buffer: Vec::new(),
            limit: limits.max_message,
        }
    }

    /// Appends what the connection read.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete item, `None` until more bytes arrive.
    pub fn next_item(&mut self) -> Result<Option<Framed>, FramingError> {
        if self.buffer.starts_with(PING) {
            self.buffer.drain(..PING.len());
            return Ok(Some(Framed::Ping));
        }
        if self.buffer.starts_with(PONG) {
            // CRLF CR may be a ping whose last byte is still on its way. A ping cut exactly after its first CRLF
            // reads as two pongs: the peer then misses one answer, and its next ping gets one.
            if self.buffer.len() == 3 && self.buffer.get(2) == Some(&b'\r') {
                return Ok(None);
            }
            self.buffer.drain(..PONG.len());
            return Ok(Some(Framed::Pong));
        }
        let Some(head_end) = find(&self.buffer, b"\r\n\r\n") else {
            if self.buffer.len() > self.limit {
                return Err(FramingError::TooLarge { limit: self.limit });
            }
            return Ok(None);
        };
        let body_start = head_end + 4;
        let head = self.buffer.get(..head_end).unwrap_or_default();
        let body_length = content_length(head)?;
        let total = body_start
            .checked_add(body_length)
            .ok_or(FramingError::TooLarge { limit: self.limit })?;
        if total > self.limit {
            return Err(FramingError::TooLarge { limit: self.limit });
        }
        if self.buffer.len() < total {
            return Ok(None);
        }
        let message: Vec<u8> = self.buffer.drain(..total).collect();
        Ok(Some(Framed::Message(message)))
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|window| window == needle)
}

/// The body length a header block declares (`Content-Length` or its compact form `l`).
fn content_length(head: &[u8]) -> Result<usize, FramingError> {
    let text = String::from_utf8_lossy(head);
    let mut found = None;
    for line in text.split("\r\n").skip(1) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
            let length = value
                .trim()
                .parse::<usize>()
                .map_err(|_| FramingError::BadContentLength)?;
            if found.is_some_and(|earlier| earlier != length) {
                return Err(FramingError::BadContentLength);
            }
            found = Some(length);
        }
    }
    found.ok_or(FramingError::NoContentLength)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTIONS: &str = "OPTIONS sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
        Content-Length: 0\r\n\r\n";
    const MESSAGE: &str = "MESSAGE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5062;branch=z9hG4bK2\r\n\
        l: 5\r\n\r\nhello";

    fn framer() -> StreamFramer {
        StreamFramer::new(&Limits::default())
    }

    fn drain(framer: &mut StreamFramer) -> Vec<Framed> {
        std::iter::from_fn(|| framer.next_item().unwrap()).collect()
    }

    #[test]
    fn back_to_back_messages_come_out_one_by_one_with_their_bodies() {
        let mut framer = framer();
        framer.push(format!("{OPTIONS}{MESSAGE}{OPTIONS}").as_bytes());
        assert_eq!(
            drain(&mut framer),
            vec![
                Framed::Message(OPTIONS.as_bytes().to_vec()),
                Framed::Message(MESSAGE.as_bytes().to_vec()),
                Framed::Message(OPTIONS.as_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn a_message_split_anywhere_waits_for_its_last_byte() {
        let whole = MESSAGE.as_bytes();
        for cut in 1..whole.len() {
            let mut framer = framer();
            framer.push(&whole[..cut]);
            assert_eq!(framer.next_item(), Ok(None), "cut at {cut}");
            framer.push(&whole[cut..]);
            assert_eq!(
                drain(&mut framer),
                vec![Framed::Message(whole.to_vec())],
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn keepalives_are_told_apart_from_messages() {
        let mut framer = framer();
        framer.push(b"\r\n\r\n");
        framer.push(OPTIONS.as_bytes());
        framer.push(b"\r\n");
        framer.push(MESSAGE.as_bytes());
        assert_eq!(
            drain(&mut framer),
            vec![
                Framed::Ping,
                Framed::Message(OPTIONS.as_bytes().to_vec()),
                Framed::Pong,
                Framed::Message(MESSAGE.as_bytes().to_vec()),
            ]
        );
    }

    #[test]
    fn a_ping_arriving_in_two_halves_is_still_a_ping() {
        let mut framer = framer();
        framer.push(b"\r\n\r");
        assert_eq!(framer.next_item(), Ok(None));
        framer.push(b"\n");
        assert_eq!(drain(&mut framer), vec![Framed::Ping]);
        framer.push(b"\r\n");
        assert_eq!(drain(&mut framer), vec![Framed::Pong], "a lone CRLF is the pong");
    }

    #[test]
    fn a_stream_that_cannot_be_framed_says_why() {
        let mut no_length = framer();
        no_length.push(b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\r\n");
        assert_eq!(no_length.next_item(), Err(FramingError::NoContentLength));

        let mut garbled = framer();
        garbled.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: ten\r\n\r\n");
        assert_eq!(garbled.next_item(), Err(FramingError::BadContentLength));

        let mut two = framer();
        two.push(b"OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 1\r\nl: 2\r\n\r\nab");
        assert_eq!(two.next_item(), Err(FramingError::BadContentLength));

        let limit = Limits::default().max_message;
        let mut huge = framer();
        huge.push(format!("OPTIONS sip:a@b SIP/2.0\r\nContent-Length: {limit}\r\n\r\n").as_bytes());
        assert_eq!(huge.next_item(), Err(FramingError::TooLarge { limit }));

        let mut endless = framer();
        endless.push(&vec![b'a'; limit + 1]);
        assert_eq!(endless.next_item(), Err(FramingError::TooLarge { limit }));
    }
}
