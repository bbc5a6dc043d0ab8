//! In-memory ports for tests and benchmarks: what one end sends, the other receives.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use crate::{FrameBatch, IoError, PacketIo};

type Queue = Arc<Mutex<VecDeque<Vec<u8>>>>;

/// One end of an in-memory link. (Allocates per frame: for tests, not the fast path; the
/// pipeline benchmarks feed batches directly.)
pub struct MemoryPort {
    rx: Queue,
    tx: Queue,
    /// Frames queued beyond this are dropped, as a full ring would.
    limit: usize,
}

/// A link of two ports joined back to back.
pub fn pair(limit: usize) -> (MemoryPort, MemoryPort) {
    let a: Queue = Arc::default();
    let b: Queue = Arc::default();
    (
        MemoryPort {
            rx: a.clone(),
            tx: b.clone(),
            limit,
        },
        MemoryPort {
            rx: b,
            tx: a,
            limit,
        },
    )
}

impl PacketIo for MemoryPort {
    fn rx(&mut self, batch: &mut FrameBatch) -> Result<usize, IoError> {
        let mut q = self.rx.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        while !batch.is_full() {
            let Some(f) = q.pop_front() else { break };
            batch.push(&f);
            n += 1;
        }
        Ok(n)
    }

    fn tx(&mut self, batch: &FrameBatch, which: &[u16]) -> Result<usize, IoError> {
        let mut q = self.tx.lock().unwrap_or_else(|e| e.into_inner());
        let mut n = 0;
        for &i in which {
            if q.len() >= self.limit {
                break;
            }
            q.push_back(batch.frame(i as usize).to_vec());
            n += 1;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_one_end_sends_the_other_receives_up_to_the_limit() {
        let (mut a, mut b) = pair(2);
        let mut out = FrameBatch::with_capacity(4);
        for f in [[1u8; 60], [2; 60], [3; 60]] {
            out.push(&f);
        }
        assert_eq!(a.tx(&out, &[0, 1, 2]).unwrap(), 2);
        let mut inb = FrameBatch::with_capacity(4);
        assert_eq!(b.rx(&mut inb).unwrap(), 2);
        assert_eq!(inb.frame(1)[0], 2);
        assert_eq!(b.rx(&mut inb).unwrap(), 0);
    }
}
