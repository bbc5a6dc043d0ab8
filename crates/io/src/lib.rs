//! Packet I/O for the data plane: drivers behind one trait.
//!
//! Contract: a driver moves whole Ethernet frames between a port and a [`FrameBatch`] of
//! preallocated buffers; it never allocates per packet and never blocks (an empty ring returns
//! zero frames). Frames always carry their 802.1Q tag in the data, as on the wire, even where
//! the kernel hands the tag over out of band (AF_PACKET on veth does). The pipeline therefore
//! does not know which driver it got: AF_PACKET rings now, AF_XDP later, in-memory queues for
//! tests and benchmarks.

pub mod af_packet;
mod batch;
pub mod csum;
pub mod memory;
pub mod pcap;
pub mod tap;
pub mod tcp_md5;

pub use batch::{FrameBatch, Offload, MAX_FRAME, MAX_GSO_FRAME};

#[derive(Debug, thiserror::Error)]
pub enum IoError {
    #[error("{what}: {source}")]
    Os {
        what: String,
        #[source]
        source: std::io::Error,
    },
    #[error("no such interface: {0}")]
    NoInterface(String),
}

impl IoError {
    pub(crate) fn last(what: impl Into<String>) -> IoError {
        IoError::Os {
            what: what.into(),
            source: std::io::Error::last_os_error(),
        }
    }
}

/// A port the data plane receives from and sends to.
pub trait PacketIo: Send {
    /// Appends received frames to `batch` until it is full or nothing is waiting; returns
    /// how many were added.
    fn rx(&mut self, batch: &mut FrameBatch) -> Result<usize, IoError>;

    /// Sends the frames `which` (indices into `batch`); returns how many were queued. Frames
    /// that do not fit in the ring are not sent (the caller counts them as tx drops).
    fn tx(&mut self, batch: &FrameBatch, which: &[u16]) -> Result<usize, IoError>;

    /// Received frames the driver dropped because they did not fit a batch slot (Junos
    /// calls them giants): jumbo frames, or GSO super-frames from a virtual device's peer.
    fn giants(&self) -> u64 {
        0
    }

    /// Frames the kernel dropped because the receive ring was full (so far, in all).
    fn ring_drops(&mut self) -> u64 {
        0
    }

    /// A descriptor that polls readable when frames wait, for an idle worker to sleep on
    /// (None: the driver cannot wake anyone; the worker polls it on a timer).
    fn readiness_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        None
    }
}
