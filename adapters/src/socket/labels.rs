//! Which peer each connection (stream id) belongs to, for record origins.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;

use ctistream_core::connect::StreamLabel;

/// How many closed connections keep their label. Origins are asked for after a
/// connection has closed (a record decoded late, a reject), so labels outlive
/// connections; but a server that has seen millions of connections must not
/// keep all their labels, so only the most recent closed ones are kept.
const CLOSED_KEPT: usize = 4096;

/// Labels of open connections and of the most recently closed ones.
#[derive(Debug, Default)]
pub(super) struct Labels {
    peers: HashMap<u32, SocketAddr>,
    /// Closed streams, oldest first; forgotten beyond [`CLOSED_KEPT`].
    closed: VecDeque<u32>,
}

impl Labels {
    /// A connection `stream` from `peer` opened.
    pub(super) fn opened(&mut self, stream: u32, peer: SocketAddr) {
        self.peers.insert(stream, peer);
    }

    /// Connection `stream` closed: its label is kept a while.
    pub(super) fn closed(&mut self, stream: u32) {
        self.closed.push_back(stream);
        if self.closed.len() > CLOSED_KEPT {
            if let Some(oldest) = self.closed.pop_front() {
                self.peers.remove(&oldest);
            }
        }
    }

    /// `peer:` for a known stream (`127.0.0.1:5501:9`), else `tcp#stream:`.
    pub(super) fn label(&self, stream: u32) -> StreamLabel {
        match self.peers.get(&stream) {
            Some(peer) => StreamLabel::new(peer.to_string(), ':'),
            None => StreamLabel::new(format!("tcp#{stream}"), ':'),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_labels_are_kept_only_for_the_most_recent_connections() {
        let peer: SocketAddr = "10.0.0.7:5501".parse().unwrap();
        let mut labels = Labels::default();
        for stream in 0..=CLOSED_KEPT as u32 {
            labels.opened(stream, peer);
            labels.closed(stream);
        }
        assert_eq!(labels.label(0).origin(3), "tcp#0:3");
        assert_eq!(labels.label(1).origin(9), "10.0.0.7:5501:9");
        assert_eq!(labels.peers.len(), CLOSED_KEPT);
    }
}
