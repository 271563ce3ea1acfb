//! Messages read from pub/sub and not yet handed to the app: evaltop's own
//! bounded queue, so that how far behind it is can be measured, and so
//! that a burst waits here rather than in Redis's output buffer for the
//! subscriber, which Redis cuts at its client-output-buffer-limit. They
//! wait as they came (channel and payload, undecoded), about their size on
//! the wire: a decoded message takes about twice that.

use std::collections::VecDeque;

use crate::model::Ts;

/// Bytes the backlog may hold by default: a burst of about half a million
/// messages of the platform's size, four times what Redis allows a
/// subscriber by default (32 MB), before evaltop stops reading.
pub const DEFAULT_BACKLOG_BYTES: usize = 128 << 20;
/// Messages it may hold at most, whatever their size.
const MAX_MESSAGES: usize = 1_000_000;
/// What each message costs beyond its bytes (its allocation, its slot).
const OVERHEAD: usize = 48;

/// One message as it arrived: when it was read, and its channel followed
/// by its payload.
pub(super) struct Waiting {
    pub at: Ts,
    channel_len: usize,
    text: Box<[u8]>,
}

impl Waiting {
    pub fn channel(&self) -> &[u8] {
        &self.text[..self.channel_len]
    }

    pub fn payload(&self) -> &[u8] {
        &self.text[self.channel_len..]
    }
}

pub(super) struct Backlog {
    messages: VecDeque<Waiting>,
    bytes: usize,
    max_bytes: usize,
}

impl Backlog {
    pub fn new(max_bytes: usize) -> Self {
        Backlog {
            messages: VecDeque::new(),
            bytes: 0,
            max_bytes,
        }
    }

    /// Whether more may be read: past this the subscriber stops reading.
    pub fn has_room(&self) -> bool {
        self.bytes < self.max_bytes && self.messages.len() < MAX_MESSAGES
    }

    pub fn push(&mut self, at: Ts, channel: &[u8], payload: &[u8]) {
        let mut text = Vec::with_capacity(channel.len() + payload.len());
        text.extend_from_slice(channel);
        text.extend_from_slice(payload);
        self.bytes += text.len() + OVERHEAD;
        self.messages.push_back(Waiting {
            at,
            channel_len: channel.len(),
            text: text.into_boxed_slice(),
        });
    }

    pub fn pop(&mut self) -> Option<Waiting> {
        let waiting = self.messages.pop_front()?;
        self.bytes -= waiting.text.len() + OVERHEAD;
        Some(waiting)
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// When the oldest waiting message was read.
    pub fn oldest(&self) -> Option<Ts> {
        self.messages.front().map(|waiting| waiting.at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backlog_keeps_order_and_counts_what_it_holds() {
        let mut backlog = Backlog::new(2 * (OVERHEAD + 8));
        assert!(backlog.has_room() && backlog.is_empty());
        backlog.push(Ts(1), b"ch:a", b"1234");
        assert!(backlog.has_room());
        backlog.push(Ts(2), b"ch:b", b"5678");
        assert!(!backlog.has_room(), "full at its bytes");
        assert_eq!((backlog.len(), backlog.oldest()), (2, Some(Ts(1))));
        let first = backlog.pop().expect("one waits");
        assert_eq!(
            (first.at, first.channel(), first.payload()),
            (Ts(1), &b"ch:a"[..], &b"1234"[..])
        );
        assert!(backlog.has_room());
        assert_eq!(backlog.pop().map(|w| w.at), Some(Ts(2)));
        assert!(backlog.pop().is_none() && backlog.has_room());
    }
}
