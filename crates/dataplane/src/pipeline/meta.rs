//! The per-frame metadata of a batch, named in one place: a struct of arrays the stages
//! share, reused batch to batch (a feature keeps its own per-frame scratch beside it).

/// Per frame of the batch.
#[derive(Debug, Clone, Default)]
pub struct BatchMeta {
    /// The port each frame came in on, as the control plane sees it (an IRB's slot for frames
    /// routed from a VLAN).
    pub in_port: Vec<u16>,
    /// Taken off the path before the route lookup by a feature: dropped, or held back to
    /// the end of the batch.
    pub taken: Vec<bool>,
}

impl BatchMeta {
    pub fn with_capacity(n: usize) -> BatchMeta {
        BatchMeta {
            in_port: vec![0; n],
            taken: vec![false; n],
        }
    }

    /// Room for `n` frames.
    pub fn reserve(&mut self, n: usize) {
        if self.in_port.len() < n {
            self.in_port.resize(n, 0);
            self.taken.resize(n, false);
        }
    }
}
